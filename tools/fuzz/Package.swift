// swift-tools-version: 6.0
import PackageDescription

// libFuzzer harnesses over the service's input parsers (docs/FUZZING.md). A package of
// its own so the main package's build never sees the sanitizer flags: tools/fuzz.sh
// builds it with `-sanitize=fuzzer,address`, which instruments the main package's
// targets too. Each harness is an executable whose `main` is libFuzzer's.
let package = Package(
    name: "backtest-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "backtest-service", path: "../.."),
        // The strategy-file harness compiles the CLI's own parser (see its folder).
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // Invariant checks and input slicing the harnesses share.
        .target(name: "FuzzSupport"),
        // CSV market data: chunking, batching, row checks, a render-and-parse round trip.
        .executableTarget(
            name: "fuzz-csv",
            dependencies: [
                "FuzzSupport",
                .product(name: "BacktestStore", package: "backtest-service"),
                .product(name: "BacktestEngine", package: "backtest-service"),
            ]
        ),
        // The strategy language: parser, compiler and a run of what compiles.
        .executableTarget(
            name: "fuzz-strategy",
            dependencies: ["FuzzSupport", .product(name: "BacktestEngine", package: "backtest-service")]
        ),
        // A request body: framing, gzip, and the request message of every method served.
        .executableTarget(
            name: "fuzz-grpc",
            dependencies: [
                "FuzzSupport",
                .product(name: "RPC", package: "backtest-service"),
                .product(name: "BacktestProto", package: "backtest-service"),
            ]
        ),
        // The server's HTTP/2 input: a whole client connection to a real GRPCServer.
        .executableTarget(
            name: "fuzz-h2",
            dependencies: [
                "FuzzSupport",
                .product(name: "RPC", package: "backtest-service"),
                .product(name: "HTTP2Transport", package: "backtest-service"),
                .product(name: "GRPCServices", package: "backtest-service"),
            ]
        ),
        // Strategy files, JSON and text, read by the CLI's own parser (linked in CLI/).
        .executableTarget(
            name: "fuzz-strategy-file",
            dependencies: [
                "FuzzSupport",
                .product(name: "BacktestProto", package: "backtest-service"),
                .product(name: "TimeKit", package: "backtest-service"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
