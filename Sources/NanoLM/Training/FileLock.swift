import Foundation

/// An advisory lock (flock) on a file that holds its owner's process id: one owner per run directory
/// (run.lock, while it trains) and per study directory (study.lock, while `study run` runs). The kernel
/// drops the lock when its process ends, however it ends, so a killed owner never leaves a stale lock.
public final class FileLock {
    public let url: URL
    let descriptor: Int32

    init(url: URL, descriptor: Int32) {
        self.url = url
        self.descriptor = descriptor
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }

    /// Takes the lock, or throws naming the process that holds it; `what` says what it guards ("study nano").
    public static func acquire(_ url: URL, what: String) throws -> FileLock {
        let fd = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileLockError(path: url.path, message: "cannot open: \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            let pid = ownerPID(url).map { "process \($0)" } ?? "another process"
            throw FileLockError(path: url.path, message: "\(what) is in use by \(pid); wait for it to finish, or stop it (kill -INT \(ownerPID(url).map(String.init) ?? "PID"))")
        }
        let text = "\(getpid())\n"
        ftruncate(fd, 0)
        _ = text.withCString { write(fd, $0, strlen($0)) }
        return FileLock(url: url, descriptor: fd)
    }

    /// The process holding the lock, or nil when nobody holds it.
    public static func holder(_ url: URL) -> Int32? {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 { flock(fd, LOCK_UN); return nil }
        return ownerPID(url) ?? -1
    }

    static func ownerPID(_ url: URL) -> Int32? {
        (try? String(contentsOf: url, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }
}

public struct FileLockError: Error, CustomStringConvertible, LocalizedError {
    public let path: String
    public let message: String
    public var description: String { "\(path): \(message)" }
    public var errorDescription: String? { description }
}
