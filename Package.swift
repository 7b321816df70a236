// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Pulse",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "pulse", targets: ["pulse"]),
        .library(name: "PulseProtocol", targets: ["PulseProtocol"]),
        .library(name: "PulseEngine", targets: ["PulseEngine"]),
        .library(name: "PulseReference", targets: ["PulseReference"]),
        .library(name: "PulseWire", targets: ["PulseWire"]),
        .library(name: "PulseRedis", targets: ["PulseRedis"]),
        .library(name: "PulseHistory", targets: ["PulseHistory"]),
        .library(name: "PulseSim", targets: ["PulseSim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.7.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // The layering, leaves first. The engine imports no adapter; adapters (SQLite, Redis, MongoDB) never
        // import each other; the server wires them; the harness (history, scenario, conform) never
        // links the server; known-broken variants (PulseMutants) are chosen by the CLI at wiring time.
        .target(name: "PulseProtocol"),
        .target(
            name: "PulseEngine",
            dependencies: ["PulseProtocol", .product(name: "Metrics", package: "swift-metrics")]
        ),
        .target(
            name: "PulseSQLite",
            dependencies: ["PulseEngine", "PulseProtocol", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .systemLibrary(
            name: "CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        .target(
            name: "PulseRedis",
            dependencies: [
                "CHiredis",
                "PulseEngine",
                "PulseProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .systemLibrary(
            name: "CMongoc",
            pkgConfig: "libmongoc-1.0",
            providers: [.apt(["libmongoc-dev"])]
        ),
        .target(
            name: "PulseMongo",
            dependencies: ["CMongoc", "PulseEngine", .product(name: "NIOPosix", package: "swift-nio")]
        ),
        .target(
            name: "PulseLive",
            dependencies: [
                "PulseEngine", "PulseProtocol", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "PulseReference",
            dependencies: [
                "PulseProtocol",
                "PulseEngine",
                "PulseSQLite",
                "PulseLive",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            // The browser app (plain HTML, CSS and JavaScript modules), served at `/`.
            resources: [.copy("Web")]
        ),
        .target(name: "PulseHistory", dependencies: ["PulseProtocol"]),
        .target(name: "PulseScenario", dependencies: ["PulseProtocol", "PulseHistory", .product(name: "Yams", package: "Yams")]),
        .target(name: "PulseMutants", dependencies: ["PulseEngine", "PulseLive", "PulseProtocol"]),
        // Real deployments: processes in network namespaces, a nemesis acting on them while a
        // wire run's users run (PulseConform), the history checked (PulseHistory).
        .target(name: "PulseDeploy", dependencies: ["PulseProtocol", "PulseScenario", "PulseHistory", "PulseConform", "PulseWire"]),
        .target(
            name: "PulseSim",
            dependencies: ["PulseProtocol", "PulseEngine", "PulseSQLite", "PulseLive", "PulseMutants", "PulseHistory", "PulseScenario"]
        ),
        .target(
            name: "PulseWire",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .target(
            name: "PulseConform",
            dependencies: [
                "PulseProtocol",
                "PulseWire",
                "PulseHistory",
                "PulseScenario",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "PulseBench",
            dependencies: [
                "PulseProtocol",
                "PulseEngine",
                "PulseReference",
                "PulseWire",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "pulse",
            dependencies: [
                "PulseEngine",
                "PulseReference",
                "PulseRedis",
                "PulseMongo",
                "PulseMutants",
                "PulseHistory",
                "PulseScenario",
                "PulseSim",
                "PulseBench",
                "PulseWire",
                "PulseConform",
                "PulseDeploy",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The engine's behaviour, written once: each store's test target runs it (a library of
        // test code, built only for the tests).
        .target(
            name: "EngineBehaviour",
            dependencies: ["PulseEngine", "PulseProtocol"],
            path: "Tests/EngineBehaviour"
        ),
        // The engine, the live hub and the in-memory stores: no server, no network.
        .testTarget(
            name: "PulseEngineTests",
            dependencies: ["EngineBehaviour", "PulseEngine", "PulseLive", "PulseProtocol", "PulseSQLite"]
        ),
        // The HTTP and WebSocket server, its accounts, limits and web app.
        .testTarget(
            name: "PulseReferenceTests",
            dependencies: [
                "PulseEngine",
                "PulseSQLite",
                "PulseLive",
                "PulseReference",
                "PulseBench",
                "PulseProtocol",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "PulseRedisTests",
            dependencies: [
                "EngineBehaviour",
                "PulseSQLite",
                "PulseProtocol",
                "PulseEngine",
                "PulseRedis",
                "PulseReference",
                "PulseWire",
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "PulseMongoTests",
            dependencies: ["EngineBehaviour", "PulseProtocol", "PulseEngine", "PulseMongo", "PulseSQLite", "PulseWire"]
        ),
        .testTarget(
            name: "Conformance",
            dependencies: ["PulseConform", "PulseWire", "PulseHistory", "PulseScenario", "PulseMutants"],
            path: "Tests/Conformance",
            // Servers the tests start with Python (the seed stand-in, the independent implementation).
            exclude: ["Support/seed_server.py", "Support/pulse_server.py"]
        ),
        .testTarget(
            name: "PulseDeployTests",
            dependencies: [
                "PulseDeploy", "PulseConform", "PulseHistory", "PulseScenario",
                .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "PulseSimTests",
            dependencies: ["PulseSim", "PulseHistory", "PulseScenario", "PulseMutants", "PulseEngine"]
        ),
        .testTarget(
            name: "Property",
            dependencies: [
                "PulseSim",
                "PulseHistory",
                "PulseScenario",
                "PulseMutants",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            path: "Tests/Property"
        ),
    ]
)
