import BacktestProto
import RPC

/// Server reflection, `grpc.reflection.v1` and `v1alpha` (same messages, two
/// packages), answered from the descriptor set embedded at build time, so tools
/// such as `buf curl` and grpcurl work with no .proto at hand.
public struct ReflectionService: Sendable {
    /// The services the server offers, reflection included.
    public let serviceNames: [String]

    public static let v1Name = GRPCReflectionV1.ServerReflectionMethods.serviceName
    public static let v1alphaName = GRPCReflectionV1Alpha.ServerReflectionMethods.serviceName

    public init(serviceNames: [String]) {
        self.serviceNames = Array(Set(serviceNames + [Self.v1Name, Self.v1alphaName])).sorted()
    }

    /// One answer, independent of the package version.
    enum Answer: Equatable {
        case files([[UInt8]])
        case services([String])
        case extensionNumbers(type: String, numbers: [Int32])
        case error(Status.Code, String)
    }

    enum Question {
        case fileByFilename(String)
        case fileContainingSymbol(String)
        case fileContainingExtension(type: String, number: Int32)
        case allExtensionNumbersOfType(String)
        case listServices
        case none
    }

    func answer(_ q: Question) -> Answer {
        switch q {
        case .fileByFilename(let name):
            guard let files = DescriptorSet.fileWithDependencies(name) else {
                return .error(.notFound, "unknown file \(name)")
            }
            return .files(files)
        case .fileContainingSymbol(let symbol):
            guard let name = DescriptorSet.fileName(containingSymbol: symbol),
                let files = DescriptorSet.fileWithDependencies(name)
            else {
                return .error(.notFound, "unknown symbol \(symbol)")
            }
            return .files(files)
        case .fileContainingExtension(let type, let number):
            return .error(.notFound, "no extension \(number) of \(type)")
        case .allExtensionNumbersOfType(let type):
            guard DescriptorSet.fileName(containingSymbol: type) != nil else {
                return .error(.notFound, "unknown type \(type)")
            }
            return .extensionNumbers(type: type, numbers: [])
        case .listServices:
            return .services(serviceNames)
        case .none:
            return .error(.invalidArgument, "empty reflection request")
        }
    }

    public func register(into router: inout RPCRouter) {
        let service = self
        router.bidirectionalStreaming(GRPCReflectionV1.ServerReflectionMethods.serverReflectionInfo) {
            (
                requests: RequestMessages<GRPCReflectionV1.ServerReflectionRequest>,
                writer: ResponseWriter<GRPCReflectionV1.ServerReflectionResponse>, _
            ) in
            for try await request in requests {
                try await writer.write(service.v1Response(request))
            }
        }
        // v1alpha's messages are v1's under another package: the same fields and numbers,
        // so the same bytes. One implementation serves both paths.
        router.bidirectionalStreaming(GRPCReflectionV1Alpha.ServerReflectionMethods.serverReflectionInfo) {
            (
                requests: RequestMessages<GRPCReflectionV1.ServerReflectionRequest>,
                writer: ResponseWriter<GRPCReflectionV1.ServerReflectionResponse>, _
            ) in
            for try await request in requests {
                try await writer.write(service.v1Response(request))
            }
        }
    }

    func v1Response(_ r: GRPCReflectionV1.ServerReflectionRequest) -> GRPCReflectionV1.ServerReflectionResponse {
        typealias V = GRPCReflectionV1
        let q: Question =
            switch r.messageRequest {
            case .fileByFilename(let s)?: .fileByFilename(s)
            case .fileContainingSymbol(let s)?: .fileContainingSymbol(s)
            case .fileContainingExtension(let e)?:
                .fileContainingExtension(type: e.containingType, number: e.extensionNumber)
            case .allExtensionNumbersOfType(let s)?: .allExtensionNumbersOfType(s)
            case .listServices?: .listServices
            case nil: .none
            }
        let response: V.ServerReflectionResponse.MessageResponse =
            switch answer(q) {
            case .files(let f): .fileDescriptorResponse(V.FileDescriptorResponse(fileDescriptorProto: f))
            case .services(let s):
                .listServicesResponse(V.ListServiceResponse(service: s.map { V.ServiceResponse(name: $0) }))
            case .extensionNumbers(let t, let n):
                .allExtensionNumbersResponse(V.ExtensionNumberResponse(baseTypeName: t, extensionNumber: n))
            case .error(let code, let message):
                .errorResponse(V.ErrorResponse(errorCode: Int32(code.rawValue), errorMessage: message))
            }
        return V.ServerReflectionResponse(validHost: r.host, originalRequest: r, messageResponse: response)
    }
}
