// swift-tools-version:6.0
// nanolm: μScaling on libtorch. See README.md.
//
// libtorch discovery (as tch-rs does it):
//   LIBTORCH=/path/to/libtorch   a pytorch.org distribution (include/, lib/), or PyPI's torch package
//                                (<site-packages>/torch: scripts/torch2.sh sets one up in .torch2/).
//                                Build it with its own scratch path: swift build --scratch-path .build-torch2
//   unset                        Debian 12's libtorch-dev 1.13.1 (/usr/include, /usr/lib/<multiarch>).
// A libtorch with libtorch_cuda.so links torch_cuda too, and the shim compiles ProcessGroupNCCL when the
// CUDA and NCCL headers are found (CUDA_HOME, or PyPI's nvidia-* packages beside the torch package:
// scripts/check_cuda_build.sh).
import PackageDescription
import Foundation

let env = ProcessInfo.processInfo.environment
let fm = FileManager.default

/// Include and library directories of the libtorch this package builds against.
func libtorchPaths() -> (includes: [String], libs: [String]) {
    if let root = env["LIBTORCH"], !root.isEmpty {
        return (["\(root)/include", "\(root)/include/torch/csrc/api/include"], ["\(root)/lib"])
    }
    let multiarch = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu"].first { fm.fileExists(atPath: "\($0)/libtorch.so") }
        ?? "/usr/lib/x86_64-linux-gnu"
    return (["/usr/include/torch/csrc/api/include"], [multiarch])  // ATen is in /usr/include already
}

/// The libstdc++ ABI libtorch was built with: old distributions say `_GLIBCXX_USE_CXX11_ABI=0` in their
/// TorchConfig.cmake; Debian's 1.13 says 1, and PyPI's 2.x wheels (manylinux_2_28) say nothing and use 1.
func cxx11ABI(libs: [String]) -> Int {
    let text = libs.flatMap { ["\($0)/../share/cmake/Torch/TorchConfig.cmake", "\($0)/cmake/Torch/TorchConfig.cmake"] }
        .compactMap { try? String(contentsOfFile: $0, encoding: .utf8) }.first ?? ""
    return text.contains("_GLIBCXX_USE_CXX11_ABI=0") ? 0 : 1
}

/// Header directories of CUDA and NCCL for a CUDA libtorch: $CUDA_HOME/include, or the include/ folders
/// of PyPI's nvidia-* packages that sit beside a PyPI torch package (site-packages/nvidia/*/include).
func cudaIncludes(libs: [String]) -> [String] {
    var dirs = [env["CUDA_HOME"], "/usr/local/cuda"].compactMap { $0 }.map { "\($0)/include" }
    for lib in libs {
        let nvidia = "\(lib)/../../nvidia"
        let packages = (try? fm.contentsOfDirectory(atPath: nvidia))?.sorted() ?? []
        dirs += packages.map { "\(nvidia)/\($0)/include" }
    }
    return dirs.filter { fm.fileExists(atPath: $0) }
}

let torch = libtorchPaths()
let hasCUDA = torch.libs.contains { fm.fileExists(atPath: "\($0)/libtorch_cuda.so") }
let cudaFlags = hasCUDA ? ["-DCTORCH_CUDA=1"] + cudaIncludes(libs: torch.libs).flatMap { ["-isystem", $0] } : []
// Not libtorch.so: it is an empty wrapper, and PyPI's needs libtorch_cuda.so, which the CPU engine leaves out.
var torchLibraries: [LinkerSetting] = ["torch_cpu", "c10"].map { .linkedLibrary($0) }
if hasCUDA { torchLibraries += ["torch_cuda", "c10_cuda"].map { .linkedLibrary($0) } }
let torchLinkFlags = torch.libs.flatMap { ["-L\($0)", "-Xlinker", "-rpath", "-Xlinker", $0] }
    + (hasCUDA ? ["-Xlinker", "--no-as-needed", "-ltorch_cuda", "-Xlinker", "--as-needed"] : [])

let package = Package(
    name: "nanolm",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "nanolm", targets: ["nanolm"]),
        .executable(name: "nanolm-torch", targets: ["nanolm-torch"]),
        .library(name: "NanoLM", targets: ["NanoLM"]),
        .library(name: "ScalingLaws", targets: ["ScalingLaws"]),
        .library(name: "ModelSpec", targets: ["ModelSpec"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),   // study state (SQLite)
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),         // YAML study and track files
    ],
    targets: [
        // The C shim over libtorch: C++ inside, a plain C header outside. No exception crosses it.
        .target(
            name: "CTorch",
            cxxSettings: [.unsafeFlags(torch.includes.flatMap { ["-isystem", $0] } + cudaFlags
                + ["-D_GLIBCXX_USE_CXX11_ABI=\(cxx11ABI(libs: torch.libs))", "-O2", "-Wno-deprecated-declarations"])],
            linkerSettings: torchLibraries + [.unsafeFlags(torchLinkFlags)]
        ),
        // Swift tensors, autograd and safetensors I/O over CTorch.
        .target(name: "Torch", dependencies: ["CTorch"]),
        // zlib and libzstd: track sources (.gz, .dz, .zst) decompressed in process.
        .systemLibrary(name: "CCompression", providers: [.apt(["zlib1g-dev", "libzstd-dev"])]),
        // Scaling-law fits, predictions and cost: pure Swift, no libtorch.
        .target(name: "ScalingLaws"),
        // A model's shape and parametrization — configuration, μP rules, limits, parameter counts and FLOPs:
        // pure Swift, so `nanolm params` and the study's plan need no libtorch.
        .target(name: "ModelSpec", dependencies: ["ScalingLaws"]),
        // Models, training, data and the study.
        .target(
            name: "NanoLM",
            dependencies: ["Torch", "ScalingLaws", "ModelSpec", "CCompression", .product(name: "GRDB", package: "GRDB.swift"), "Yams"]
        ),
        // The commands that need no tensors (fit, predict, cost, params) and what every command shares: no libtorch.
        .target(
            name: "LawCommands",
            dependencies: ["ScalingLaws", "ModelSpec", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // The command-line tool: `nanolm` runs LawCommands itself, and `nanolm-torch` (beside it) for the rest,
        // so a fit or --help does not load libtorch.
        .executableTarget(
            name: "nanolm",
            dependencies: ["LawCommands", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "nanolm-torch",
            dependencies: ["NanoLM", "ScalingLaws", "LawCommands", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "TorchTests", dependencies: ["Torch"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ScalingLawsTests", dependencies: ["ScalingLaws"], resources: [.copy("Fixtures")]),
        .testTarget(name: "NanoLMTests", dependencies: ["NanoLM"], resources: [.copy("Fixtures")]),
    ],
    // Swift 5 language mode: tensors are handles into libtorch, whose own threading rules apply.
    swiftLanguageModes: [.v5],
    cxxLanguageStandard: .cxx17
)
