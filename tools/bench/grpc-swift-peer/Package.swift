// swift-tools-version:6.1
// grpc-swift-2's Health/Check over its own HTTP/2 transport (SwiftNIO), the peer that
// tools/bench/unary_peers.py measures beside backtestd (BENCHMARKS.md, issue 17).
// A package of its own so the main package never depends on gRPC Swift.
import PackageDescription

let package = Package(
    name: "grpc-swift-peer",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/grpc/grpc-swift-2.git", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", exact: "2.9.2"),
    ],
    targets: [
        .executableTarget(
            name: "peer-health",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)
