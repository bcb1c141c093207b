import Foundation
import Torch

/// Records the outputs of named modules during a forward pass, for the coordinate check. Models call
/// ``record(_:_:)`` at each module's output; it does nothing unless a recording is active.
public final class ActivationProbe {
    nonisolated(unsafe) static var active: ActivationProbe?

    /// (module name, detached copy of its output), in forward order.
    public private(set) var outputs: [(name: String, value: Tensor)] = []

    /// Records `x` under `name` when a recording is active.
    public static func record(_ name: String, _ x: Tensor) throws {
        guard let probe = active else { return }
        probe.outputs.append((name, try withNoGrad { try x.detach().clone() }))
    }

    /// Runs `body` with recording on; returns its result and the recorded outputs.
    public static func recording<R>(_ body: () throws -> R) throws -> (R, [(name: String, value: Tensor)]) {
        let probe = ActivationProbe()
        let previous = active
        active = probe
        defer { active = previous }
        let result = try body()
        return (result, probe.outputs)
    }
}
