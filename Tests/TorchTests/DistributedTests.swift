import Foundation
import XCTest
@testable import Torch

/// c10d Gloo collectives across two real processes on loopback. The test re-runs this test binary as
/// the worker ranks (NANOLM_TEST_WORKER=1 selects `testWorker`, which is skipped otherwise).
final class DistributedTests: XCTestCase {
    static func freePort() -> Int { 20000 + Int(getpid() % 10000) + Int.random(in: 0 ..< 5000) }

    /// Starts `world` copies of this test binary running `testWorker` with torchrun's variables.
    func launch(world: Int, port: Int, mode: String) throws -> [Process] {
        try (0 ..< world).map { rank in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
            p.arguments = ["TorchTests.DistributedTests/testWorker"]
            var env = ProcessInfo.processInfo.environment
            env.merge(["NANOLM_TEST_WORKER": mode, "RANK": "\(rank)", "WORLD_SIZE": "\(world)", "MASTER_ADDR": "127.0.0.1",
                       "MASTER_PORT": "\(port)"]) { $1 }
            p.environment = env
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            return p
        }
    }

    func testTwoRanksAllReduceBroadcastAndGather() throws {
        guard CommandLine.arguments[0].hasSuffix(".xctest") else { throw XCTSkip("needs the xctest binary to relaunch") }
        let ranks = try launch(world: 2, port: Self.freePort(), mode: "collectives")
        for p in ranks { p.waitUntilExit() }
        XCTAssertEqual(ranks.map(\.terminationStatus), [0, 0], "a worker failed; run it alone to see its output")
    }

    /// Rank 1 never joins: rank 0's rendezvous must fail within its timeout, not hang.
    func testAMissingRankFailsWithinTheTimeout() throws {
        let started = Date()
        XCTAssertThrowsError(try ProcessGroup(masterAddress: "127.0.0.1", port: Self.freePort(), rank: 0, worldSize: 2, timeout: 2)) { error in
            XCTAssertTrue("\(error)".contains("ProcessGroup"), "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 60, "the failure was not bounded by the timeout")
    }

    func testEnvironmentParsing() throws {
        XCTAssertNil(try DistributedEnvironment.current([:]))
        XCTAssertNil(try DistributedEnvironment.current(["RANK": "0", "WORLD_SIZE": "1"]))
        let torchrun = try DistributedEnvironment.current(["RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "1",
                                                            "MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "1234"])
        XCTAssertEqual(torchrun, DistributedEnvironment(rank: 1, worldSize: 4, localRank: 1, masterAddress: "10.0.0.1", masterPort: 1234))
        let slurm = try DistributedEnvironment.current(["SLURM_PROCID": "3", "SLURM_NTASKS": "8", "SLURM_LOCALID": "1"])
        XCTAssertEqual(slurm?.rank, 3)
        XCTAssertEqual(slurm?.worldSize, 8)
        XCTAssertEqual(slurm?.localRank, 1)
        // srun without MASTER_*: the first node of the job and a port from the job id.
        let step = try DistributedEnvironment.current(["SLURM_PROCID": "0", "SLURM_NTASKS": "2", "SLURM_JOB_ID": "123456",
                                                        "SLURM_JOB_NODELIST": "gpu[003-005,010],cpu01"])
        XCTAssertEqual(step?.masterAddress, "gpu003")
        XCTAssertEqual(step?.masterPort, 20000 + 123456 % 20000)
        XCTAssertEqual(DistributedEnvironment.firstHost(of: "node07"), "node07")
        XCTAssertEqual(DistributedEnvironment.firstHost(of: "a,b"), "a")
        XCTAssertEqual(DistributedEnvironment.firstHost(of: "n[7]"), "n7")
        XCTAssertThrowsError(try DistributedEnvironment.current(["RANK": "x", "WORLD_SIZE": "2"]))
        XCTAssertThrowsError(try DistributedEnvironment.current(["RANK": "5", "WORLD_SIZE": "2"]))
    }

    /// The body of each worker rank (only when launched by the tests above). It reports to stderr and
    /// exits non-zero on any mismatch, which the launching test sees as the exit status.
    func testWorker() throws {
        guard ProcessInfo.processInfo.environment["NANOLM_TEST_WORKER"] != nil else { throw XCTSkip("worker process only") }
        let env = try XCTUnwrap(try DistributedEnvironment.current())
        func expect<T: Equatable>(_ actual: T, _ expected: T, _ what: String) {
            guard actual != expected else { return }
            FileHandle.standardError.write(Data("rank \(env.rank): \(what): \(actual) != \(expected)\n".utf8))
            exit(1)
        }
        let group = try ProcessGroup(masterAddress: env.masterAddress, port: env.masterPort, rank: env.rank,
                                     worldSize: env.worldSize, timeout: 30)
        let nccl = ProcessGroup.ncclCompiled && Device.cudaDeviceCount > 0
        expect(group.backends, nccl ? [.gloo, .nccl] : [.gloo], "backends")
        let r = Float(env.rank)
        let x = try Tensor([r + 1, 10 * (r + 1)] as [Float])
        try group.allReduceSum([x])
        expect(try x.toArray(Float.self), [3, 30], "allreduce")  // (0+1) + (1+1), 10 + 20
        let b = try Tensor([r, r] as [Float])
        try group.broadcast([b], root: 1)
        expect(try b.toArray(Float.self), [1, 1], "broadcast from rank 1")
        let outputs = try (0 ..< env.worldSize).map { _ in try Tensor.zeros([2]) }
        try group.allGather(try Tensor([r, -r] as [Float]), into: outputs)
        expect(try outputs.map { try $0.toArray(Float.self) }, [[0, 0], [1, -1]], "allgather")
        if nccl {  // the same sum on each rank's GPU goes through NCCL
            let gpu = Device.cuda(env.localRank % Device.cudaDeviceCount)
            let y = try Tensor([r + 1, 10 * (r + 1)] as [Float]).to(device: gpu)
            try group.allReduceSum([y])
            expect(try y.to(device: .cpu).toArray(Float.self), [3, 30], "allreduce on \(gpu) (NCCL)")
        }
        try group.barrier()
    }
}
