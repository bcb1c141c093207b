import Foundation

/// SIGINT / SIGTERM: the one handler of the process. The first only sets a flag: the training loop
/// checkpoints and stops after the current step, and a study passes the request on to its runs and stops
/// after them. A second one stops the process at once (a step that never ends must not make the process
/// unkillable but by SIGKILL) — except in a run that a study trains, which the study stops.
public enum StopRequest {
    nonisolated(unsafe) public static var isRequested = false
    nonisolated(unsafe) static var installed = false
    /// Set in a study's child run: a terminal's Ctrl-C reaches it and then the study's own SIGINT; the
    /// second must not cut the checkpoint short.
    nonisolated(unsafe) public static var exitsOnSecondRequest = true

    public static func install() {
        guard !installed else { return }
        installed = true
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { sig in
                if StopRequest.isRequested && StopRequest.exitsOnSecondRequest { _exit(128 + sig) }
                StopRequest.isRequested = true
            }
        }
    }

    /// A run trained for a study stops (at a checkpoint, as on SIGINT) when the study's process is gone, even
    /// killed with SIGKILL, which it cannot pass on: a thread watches for the parent process to change.
    public static func whenParentExits(_ parent: Int32) {
        let thread = Thread {
            while getppid() == parent { Thread.sleep(forTimeInterval: 0.2) }
            StopRequest.isRequested = true
        }
        thread.start()
    }

    /// The environment variable through which a study tells its child runs its process id.
    public static let parentVariable = "NANOLM_STUDY_PID"
}
