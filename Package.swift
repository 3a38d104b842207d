// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "taskgate",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "TaskScheduler", targets: ["TaskScheduler"]),
        .library(name: "TaskGateFunctions", targets: ["TaskGateFunctions"]),
        .library(name: "TaskGateAPI", targets: ["TaskGateAPI"]),
        .library(name: "TaskGateHTTP", targets: ["TaskGateHTTP"]),
        .library(name: "TaskGateClient", targets: ["TaskGateClient"]),
        .library(name: "TaskGateWorker", targets: ["TaskGateWorker"]),
        .library(name: "TaskGateTesting", targets: ["TaskGateTesting"]),
        .library(name: "TaskGateStore", targets: ["TaskGateStore"]),
        .library(name: "TaskGateWebhooks", targets: ["TaskGateWebhooks"]),
        .executable(name: "taskgate", targets: ["taskgate"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        .target(name: "TaskGateSupport"),
        .target(
            name: "TaskScheduler",
            dependencies: [
                "TaskGateSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "TaskGateFunctions",
            dependencies: [
                "TaskScheduler",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .systemLibrary(
            name: "CMicroHTTPD",
            pkgConfig: "libmicrohttpd",
            providers: [.apt(["libmicrohttpd-dev"])]
        ),
        .target(name: "TaskGateAPI"),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(
            name: "TaskGateStore",
            dependencies: [
                "CSQLite", "TaskScheduler", .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(
            name: "TaskGateHTTP",
            dependencies: [
                "CMicroHTTPD",
                "TaskScheduler",
                "TaskGateAPI",
                "TaskGateStore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "TaskGateWebhooks",
            dependencies: [
                "TaskScheduler",
                "TaskGateHTTP",
                "TaskGateStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "TaskGateClient",
            dependencies: [
                "TaskGateAPI",
                "TaskGateSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "TaskGateWorker",
            dependencies: [
                "TaskGateAPI",
                "TaskGateClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "TaskGateTesting",
            dependencies: [
                "TaskGateHTTP",
                "TaskGateStore",
                "TaskGateFunctions",
                "TaskScheduler",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "taskgate",
            dependencies: [
                "TaskGateHTTP",
                "TaskGateClient",
                "TaskGateWorker",
                "TaskGateWebhooks",
                "TaskGateAPI",
                "TaskGateFunctions",
                "TaskScheduler",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "taskgate-bench-core",
            dependencies: ["TaskScheduler", "TaskGateFunctions"],
            path: "Benchmarks/CoreBench"
        ),
        .executableTarget(
            name: "taskgate-bench-client",
            dependencies: ["TaskGateClient", "TaskGateAPI"],
            path: "Benchmarks/ClientBench"
        ),
        .testTarget(name: "TaskSchedulerTests", dependencies: ["TaskScheduler", "TaskGateTesting"]),
        .testTarget(name: "TaskGateAPITests", dependencies: ["TaskGateAPI", "TaskGateSupport", "TaskGateTesting"]),
        .testTarget(
            name: "TaskGateStoreTests", dependencies: ["TaskGateStore", "CSQLite", "TaskScheduler", "TaskGateTesting"]),
        .testTarget(
            name: "TaskGateHTTPTests",
            dependencies: [
                "TaskGateHTTP", "TaskGateTesting", "TaskGateAPI", "TaskScheduler", "TaskGateFunctions", "TaskGateStore",
            ]
        ),
        .testTarget(
            name: "TaskGateClientTests",
            dependencies: ["TaskGateClient", "TaskGateTesting", "TaskGateAPI", "TaskScheduler", "TaskGateHTTP"]
        ),
        .testTarget(
            name: "TaskGateWorkerTests",
            dependencies: [
                "TaskGateWorker", "TaskGateClient", "TaskGateTesting", "TaskGateAPI", "TaskScheduler", "TaskGateHTTP",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "taskgateTests", dependencies: ["taskgate", "TaskGateTesting", "TaskGateHTTP"]),
        .testTarget(
            name: "TaskGateWebhooksTests",
            dependencies: [
                "TaskGateWebhooks", "TaskGateHTTP", "TaskGateTesting", "TaskScheduler", "TaskGateStore",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "TaskGateFunctionsTests",
            dependencies: ["TaskGateFunctions", "TaskScheduler", .product(name: "Logging", package: "swift-log")]),
    ],
    swiftLanguageModes: [.v6]
)
