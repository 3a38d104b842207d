// swift-tools-version: 6.0
// The measurement behind issue 13's choice of SQLite binding (docs/benchmarks.md, "Durable store: the binding"):
// the SQLite C API behind a system-library target against GRDB.swift, both writing task rows in batches, one
// transaction (and, in `fsync` mode, one fsync) per batch. A package of its own, so the product does not depend on
// GRDB for a benchmark. Run: scripts/bench-store-binding.sh
import PackageDescription

let package = Package(
    name: "StoreBench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0")
    ],
    targets: [
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .executableTarget(
            name: "store-bench",
            dependencies: ["CSQLite", .product(name: "GRDB", package: "GRDB.swift")]
        ),
    ]
)
