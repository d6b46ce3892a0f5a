// swift-tools-version:6.0
// libFuzzer harnesses for every parser of files that come from strangers (Scripts/fuzz.sh builds and runs them).
// A package of its own beside the main one: its executables have no `main` (libFuzzer brings it), so they build only
// with `--sanitize fuzzer`, which the main package's everyday builds must not need.
import PackageDescription

let harnesses = ["safetensors", "pickle", "torchzip", "npy", "records", "manifests", "evaluation", "tokenizer", "config"]

let package = Package(
    name: "LodestoneFuzz",
    dependencies: [.package(name: "Lodestone", path: "..")],
    targets: [
        .target(name: "FuzzSupport", dependencies: [.product(name: "LodestoneCore", package: "Lodestone")],
                swiftSettings: [.swiftLanguageMode(.v5)]),
    ] + harnesses.map { name in
        .executableTarget(name: "fuzz-\(name)", dependencies: ["FuzzSupport", .product(name: "LodestoneCore", package: "Lodestone")],
                          path: "Harnesses/\(name)", swiftSettings: [.swiftLanguageMode(.v5), .unsafeFlags(["-parse-as-library"])])
    }
)
