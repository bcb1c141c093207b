import ArgumentParser
import NanoLM

extension DeviceChoice: ExpressibleByArgument {}

/// `--device` of train, study run, eval score and coord-check.
let deviceHelp = ArgumentHelp(
    "Where to run: cpu, cuda (a GPU; one per job or rank when there are several), cuda:N, or auto (a GPU when libtorch sees one, else the CPU).",
    valueName: "device")
