import Foundation
import GRDB
import ModelSpec
import ScalingLaws

/// A study's state in SQLite (`study.sqlite` in the study directory): its file, every run with its status
/// and fit loss, the losses recorded along each run, every evaluation on the validation set (the runs'
/// learning curves: ``validationCurves(study:)``), the fits and the predictions. Only the process that
/// runs the study writes it; runs themselves write only their own directories (so a cluster's tasks never
/// touch the database).
public final class StudyStore {
    public let queue: DatabaseQueue
    /// Which measured loss ``record(_:summary:)`` stores as a run's `loss` (the study's `budget.fitLoss`).
    var fitLoss = FitLoss.validation

    public init(path: String) throws {
        queue = try DatabaseQueue(path: path)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE studies (name TEXT PRIMARY KEY, file TEXT NOT NULL, spec TEXT NOT NULL, updatedAt TEXT NOT NULL);
                CREATE TABLE runs (
                    id TEXT PRIMARY KEY,           -- hash of the run's TrainingConfig
                    study TEXT NOT NULL, design TEXT NOT NULL, phase TEXT NOT NULL,
                    width INTEGER NOT NULL, learningRate REAL NOT NULL, initStd REAL NOT NULL, outputMultiplier REAL NOT NULL,
                    parameters INTEGER NOT NULL, flops REAL NOT NULL, steps INTEGER NOT NULL,
                    directory TEXT NOT NULL,
                    status TEXT NOT NULL,          -- pending, running, done, diverged, failed
                    loss REAL, validationLoss REAL, divergedAtStep INTEGER, message TEXT, updatedAt TEXT NOT NULL);
                CREATE TABLE losses (run TEXT NOT NULL REFERENCES runs(id), step INTEGER NOT NULL,
                    trainLoss REAL NOT NULL, validationLoss REAL, PRIMARY KEY (run, step));
                CREATE TABLE fits (study TEXT NOT NULL, design TEXT NOT NULL, fit TEXT NOT NULL, backtest TEXT NOT NULL,
                    PRIMARY KEY (study, design));
                CREATE TABLE predictions (study TEXT NOT NULL, design TEXT NOT NULL, targetParameters INTEGER NOT NULL,
                    loss REAL NOT NULL, lower REAL NOT NULL, upper REAL NOT NULL, actual REAL, PRIMARY KEY (study, design));
                """)
        }
        // Seeds and the fixed validation set (issue 16): a run's seed index, both measured losses beside the
        // fitted one, and every evaluation along training.
        migrator.registerMigration("v2") { db in
            try db.execute(sql: """
                ALTER TABLE runs ADD COLUMN seedIndex INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE runs ADD COLUMN trainLoss REAL;
                CREATE TABLE validation (run TEXT NOT NULL REFERENCES runs(id), step INTEGER NOT NULL, tokens INTEGER NOT NULL,
                    loss REAL NOT NULL, standardError REAL, targets INTEGER NOT NULL, checksum TEXT NOT NULL, PRIMARY KEY (run, step));
                """)
        }
        try migrator.migrate(queue)
    }

    static var now: String { ISO8601DateFormatter().string(from: Date()) }

    func saveStudy(_ spec: StudySpec, file: String) throws {
        let json = String(decoding: try JSONEncoder().encode(spec), as: UTF8.self)
        try queue.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO studies (name, file, spec, updatedAt) VALUES (?, ?, ?, ?)",
                           arguments: [spec.name, file, json, Self.now])
        }
    }

    /// Adds a planned run unless it is already known (a rerun, or a run shared between phases).
    func plan(_ run: StudyRun) throws {
        try queue.write { db in
            try db.execute(sql: """
                INSERT OR IGNORE INTO runs (id, study, design, phase, width, learningRate, initStd, outputMultiplier,
                    parameters, flops, steps, directory, seedIndex, status, updatedAt)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)
                """, arguments: [run.id, run.study, run.design, run.phase.rawValue, run.width, run.hyper.learningRate, run.hyper.initStd,
                                 run.hyper.outputMultiplier, run.parameters, run.flops, run.steps, run.directory, run.seedIndex, Self.now])
        }
    }

    func setStatus(_ id: String, _ status: RunStatus, message: String? = nil) throws {
        try queue.write { db in
            try db.execute(sql: "UPDATE runs SET status = ?, message = ?, updatedAt = ? WHERE id = ?",
                           arguments: [status.rawValue, message, Self.now, id])
        }
    }

    /// Records a finished run's outcome from its summary.json: its fit loss (``fitLoss`` at its last recording:
    /// the validation loss or the training window's mean), both measured losses, and its evaluations.
    func record(_ id: String, summary: RunSummary) throws {
        let status: RunStatus = summary.status == .diverged ? .diverged : summary.status == .completed ? .done : .pending
        let last = status == .done ? summary.recorded.last : nil
        let loss = fitLoss == .validation ? last?.validationLoss : last?.trainLoss
        try queue.write { db in
            try db.execute(sql: """
                UPDATE runs SET status = ?, loss = ?, trainLoss = ?, validationLoss = ?, divergedAtStep = ?, message = NULL, updatedAt = ?
                WHERE id = ?
                """, arguments: [status.rawValue, loss, last?.trainLoss, last?.validationLoss, summary.divergedAtStep, Self.now, id])
            try db.execute(sql: "DELETE FROM losses WHERE run = ?", arguments: [id])
            for r in summary.recorded {
                try db.execute(sql: "INSERT INTO losses (run, step, trainLoss, validationLoss) VALUES (?, ?, ?, ?)",
                               arguments: [id, r.step, r.trainLoss, r.validationLoss])
            }
            try db.execute(sql: "DELETE FROM validation WHERE run = ?", arguments: [id])
            for p in summary.evaluations ?? [] {
                try db.execute(sql: """
                    INSERT OR REPLACE INTO validation (run, step, tokens, loss, standardError, targets, checksum) VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [id, p.step, p.tokens, p.loss, p.standardError, p.targets, p.checksum])
            }
        }
    }

    /// Every run's learning curve on the fixed validation set, for a fit along training (issue 16, item 4):
    /// each run of the study (design, phase, width, C as `parameters`, hyperparameters, `seedIndex`, status)
    /// with its evaluations in step order — step, training tokens seen (`tokens`), validation loss, its
    /// standard error, target tokens evaluated, and the checksum of those tokens (equal across the study's
    /// runs of one objective). Runs in ``runs(study:)`` order; a run not yet finished has no points.
    public func validationCurves(study: String) throws -> [(run: StoredRun, points: [ValidationPoint])] {
        let runs = try self.runs(study: study)
        let points = try queue.read { db in
            try Row.fetchAll(db, sql: """
                SELECT v.* FROM validation v JOIN runs r ON r.id = v.run WHERE r.study = ? ORDER BY v.run, v.step
                """, arguments: [study]).map { row in
                (run: row["run"] as String,
                 point: ValidationPoint(step: row["step"], tokens: row["tokens"], loss: row["loss"], standardError: row["standardError"],
                                        targets: row["targets"], checksum: row["checksum"]))
            }
        }
        let byRun = Dictionary(grouping: points, by: \.run)
        return runs.map { ($0, byRun[$0.id]?.map(\.point) ?? []) }
    }

    public func runs(study: String) throws -> [StoredRun] {
        try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM runs WHERE study = ? ORDER BY design, phase, width, learningRate, initStd, outputMultiplier",
                             arguments: [study]).map { try StoredRun(row: $0, database: queue.path) }
        }
    }

    func saveFit(study: String, design: String, fit: MuScalingFit, backtest: [BacktestPoint]) throws {
        let encoder = JSONEncoder()
        let f = String(decoding: try encoder.encode(fit), as: UTF8.self)
        let b = String(decoding: try encoder.encode(backtest), as: UTF8.self)
        try queue.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO fits (study, design, fit, backtest) VALUES (?, ?, ?, ?)",
                           arguments: [study, design, f, b])
        }
    }

    func savePrediction(study: String, _ p: DesignPrediction) throws {
        try queue.write { db in
            try db.execute(sql: """
                INSERT OR REPLACE INTO predictions (study, design, targetParameters, loss, lower, upper, actual) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [study, p.design, p.targetParameters, p.loss, p.lower, p.upper, p.actual])
        }
    }
}

/// A run as the database keeps it.
public struct StoredRun: Codable, Sendable {
    public var id: String
    public var design: String
    public var phase: RunPhase
    public var width: Int
    public var hyper: MuHyperParameters
    public var parameters: Int
    public var flops: Double
    public var steps: Int
    public var directory: String
    public var status: RunStatus
    public var loss: Double?
    public var validationLoss: Double?
    public var divergedAtStep: Int?
    public var message: String?
    /// The mean training loss over the loss window at the last step (`loss` is this or `validationLoss`, as
    /// the study's `budget.fitLoss` says); nil in results written before it was kept.
    public var trainLoss: Double? = nil
    /// k of the study's `seeds` (nil in results written before seeds: 0).
    public var seedIndex: Int? = nil
}

extension StoredRun {
    /// A row of the runs table; an unknown phase or status is an error naming the database.
    init(row: Row, database: String) throws {
        func value<T: RawRepresentable>(_ column: String) throws -> T where T.RawValue == String {
            let text: String = row[column]
            guard let v = T(rawValue: text) else {
                throw StudyError.failed("\(database): run \(row["id"] as String? ?? "?") has \(column) '\(text)', which this nanolm does not know")
            }
            return v
        }
        id = row["id"]; design = row["design"]; phase = try value("phase"); width = row["width"]
        hyper = MuHyperParameters(learningRate: row["learningRate"], initStd: row["initStd"], outputMultiplier: row["outputMultiplier"])
        parameters = row["parameters"]; flops = row["flops"]; steps = row["steps"]; directory = row["directory"]
        status = try value("status"); loss = row["loss"]; validationLoss = row["validationLoss"]
        divergedAtStep = row["divergedAtStep"]; message = row["message"]
        trainLoss = row["trainLoss"]; seedIndex = row["seedIndex"]
    }
}
