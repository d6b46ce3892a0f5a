// swift-tools-version:6.0
// Lodestone in Swift: the replication pipeline of lodestone-base-4096-v1 as one package.
// Library targets follow the data flow (Storage → Data → Text/Tensor → Model → Training → Report);
// the numbered executables are the notebooks, one documented cell per core call.
import PackageDescription

let swiftSettings: [SwiftSetting] = [.swiftLanguageMode(.v5)]
// Release builds optimise across each module's files (-wmo) and keep Swift's bounds and overflow checks: the parsers in
// these targets read files from strangers, where a missed check must be a clean stop, not memory corruption
// (Scripts/fuzz.sh). Hot loops use unsafe buffer pointers already; Scripts/bench-unchecked.sh measures what the
// checks cost by building once more with LODESTONE_UNCHECKED=1 (-Ounchecked), for that comparison only.
let unchecked = Context.environment["LODESTONE_UNCHECKED"] == "1" ? ["-Ounchecked"] : []
let fast: [SwiftSetting] = swiftSettings + [.unsafeFlags(unchecked + ["-wmo"], .when(configuration: .release))]

let package = Package(
    name: "Lodestone",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "LodestoneCore", targets: ["LodestoneCore"]),
        .executable(name: "01-dataloading", targets: ["01-dataloading"]),
        .executable(name: "02-data-records", targets: ["02-data-records"]),
        .executable(name: "03-mosaic-model", targets: ["03-mosaic-model"]),
        .executable(name: "04-training", targets: ["04-training"]),
        .executable(name: "05-embed", targets: ["05-embed"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // C libraries from apt, each a module map plus a shim header.
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        // Our one C target: the bf16 GEMM micro-kernel (AVX512_BF16, chosen at run time by CPUID), optimised in
        // debug builds too so the tests' bf16 runs take seconds.
        .target(name: "CBF16GEMM", cSettings: [.unsafeFlags(["-O3"])]),

        // The core library, along the data flow. LodestoneBase holds what every layer shares: one-line errors,
        // the atomic file writer, formatting, the worker pool, the progress printer, SplitMix64.
        .target(name: "LodestoneBase", swiftSettings: swiftSettings),
        .target(name: "LodestoneStorage", dependencies: ["LodestoneBase", "CCurl", .product(name: "Logging", package: "swift-log")],
                swiftSettings: swiftSettings),
        .target(name: "LodestoneData", dependencies: ["LodestoneBase", "LodestoneStorage", "CZlib", .product(name: "Logging", package: "swift-log")],
                swiftSettings: fast),
        .target(name: "LodestoneText", dependencies: ["LodestoneBase"], swiftSettings: fast),
        .target(name: "LodestoneTensor", dependencies: ["LodestoneBase", "COpenBLAS", "CBF16GEMM"], swiftSettings: fast),
        .target(name: "LodestoneModel", dependencies: ["LodestoneBase", "LodestoneTensor", "LodestoneText", "CZlib", "COpenBLAS"],
                exclude: ["README-API.md"], swiftSettings: fast),
        // Data-parallel training across processes: MPI_COMM_WORLD as a LodestoneBase.Collective.
        .target(name: "LodestoneDistributed", dependencies: ["LodestoneBase", "CMPI"], swiftSettings: swiftSettings),
        .target(name: "LodestoneReport", dependencies: ["LodestoneBase"], swiftSettings: swiftSettings),
        // Every evaluator (retrieval, pairs, scored pairs) behind one seam, for 04-training --eval and 05-embed.
        .target(name: "LodestoneEvaluation", dependencies: ["LodestoneBase", "LodestoneData", "LodestoneModel"],
                swiftSettings: fast),
        .target(name: "LodestoneTraining",
                dependencies: ["LodestoneBase", "LodestoneModel", "LodestoneData", "LodestoneStorage", "LodestoneReport",
                               "LodestoneEvaluation"],
                swiftSettings: fast),
        .target(name: "LodestoneCore",
                dependencies: ["LodestoneBase", "LodestoneStorage", "LodestoneData", "LodestoneText", "LodestoneTensor",
                               "LodestoneModel", "LodestoneEvaluation", "LodestoneTraining", "LodestoneReport",
                               .product(name: "Logging", package: "swift-log")],
                swiftSettings: swiftSettings),

        // What the numbered steps share on the command line: option groups, the BLAS kernel choice and the error
        // boundary; training's flags apart, so that 05-embed never links the trainer.
        .target(name: "LodestoneCLI",
                dependencies: ["LodestoneBase", "LodestoneStorage", "LodestoneTensor",
                               .product(name: "ArgumentParser", package: "swift-argument-parser"),
                               .product(name: "Logging", package: "swift-log")],
                swiftSettings: swiftSettings),
        .target(name: "LodestoneTrainingCLI",
                dependencies: ["LodestoneCLI", "LodestoneCore", .product(name: "ArgumentParser", package: "swift-argument-parser")],
                swiftSettings: swiftSettings),

        // The notebooks, in order.
        .executableTarget(name: "01-dataloading", dependencies: cli, swiftSettings: swiftSettings),
        .executableTarget(name: "02-data-records", dependencies: cli, swiftSettings: swiftSettings),
        .executableTarget(name: "03-mosaic-model", dependencies: cli, swiftSettings: swiftSettings),
        .executableTarget(name: "04-training", dependencies: cli + ["LodestoneTrainingCLI", "LodestoneDistributed"], swiftSettings: swiftSettings),
        // Using a model needs no trainer: the model, the evaluators and the command line.
        .executableTarget(name: "05-embed",
                          dependencies: ["LodestoneCLI", "LodestoneEvaluation", "LodestoneModel", "LodestoneData",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                         .product(name: "Logging", package: "swift-log")],
                          swiftSettings: swiftSettings),
        // Training-throughput benchmark (Scripts/bench-train.sh).
        .executableTarget(name: "lodestone-bench", dependencies: cli + ["LodestoneTrainingCLI", "LodestoneDistributed"], swiftSettings: swiftSettings),
        // The MPI layer run as mpirun runs it: collective checks (DistributedTests), all-reduce bandwidth
        // (Scripts/bench-scale.sh).
        .executableTarget(name: "lodestone-mpi-check",
                          dependencies: ["LodestoneDistributed", "LodestoneModel",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          swiftSettings: swiftSettings),

        // Tests, one target per concern; ConformanceTests reads Tests/Fixtures/reference (and ../shared/fixtures or
        // $LODESTONE_FIXTURES when present).
        .testTarget(name: "BaseTests", dependencies: ["LodestoneBase"], swiftSettings: swiftSettings),
        .testTarget(name: "StorageTests", dependencies: ["LodestoneCore", "LodestoneCLI"], exclude: ["Servers"], swiftSettings: swiftSettings),
        .testTarget(name: "DataTests", dependencies: ["LodestoneCore"], swiftSettings: swiftSettings),
        .testTarget(name: "ConformanceTests", dependencies: ["LodestoneCore"], swiftSettings: swiftSettings),
        .testTarget(name: "ModelTests", dependencies: ["LodestoneCore"], exclude: ["Fixtures"], swiftSettings: swiftSettings),
        .testTarget(name: "TrainingTests", dependencies: ["LodestoneCore", "LodestoneCLI", "LodestoneTrainingCLI"], swiftSettings: swiftSettings),
        .testTarget(name: "DistributedTests", dependencies: ["LodestoneDistributed"], swiftSettings: swiftSettings),
    ]
)

var cli: [Target.Dependency] {
    ["LodestoneCore", "LodestoneCLI",
     .product(name: "ArgumentParser", package: "swift-argument-parser"),
     .product(name: "Logging", package: "swift-log")]
}
