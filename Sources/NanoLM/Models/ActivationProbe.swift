import Torch

/// Records the outputs of named modules during a forward pass, for the coordinate check. Models call
/// ``record(_:_:)`` at each module's output; it does nothing unless the current task is inside
/// ``recording(_:)``. The probe is a task-local value, not a global: a check recording in one task
/// (or thread) never sees another's forward passes, and training elsewhere pays one lookup per module.
public final class ActivationProbe: @unchecked Sendable {
    /// The recording of the current task, if any (only ``recording(_:)`` binds it).
    @TaskLocal static var current: ActivationProbe?

    /// (module name, detached copy of its output), in forward order.
    public private(set) var outputs: [(name: String, value: Tensor)] = []

    /// Whether a recording is active in this task (attention then takes the explicit path, whose
    /// logits exist to be recorded).
    public static var isRecording: Bool { current != nil }

    /// Records `x` under `name` when a recording is active.
    public static func record(_ name: String, _ x: Tensor) throws {
        guard let probe = current else { return }
        probe.outputs.append((name, try withNoGrad { try x.detach().clone() }))
    }

    /// Runs `body` with recording on in this task; returns its result and the recorded outputs.
    public static func recording<R>(_ body: () throws -> R) throws -> (R, [(name: String, value: Tensor)]) {
        let probe = ActivationProbe()
        let result = try $current.withValue(probe) { try body() }
        return (result, probe.outputs)
    }
}
