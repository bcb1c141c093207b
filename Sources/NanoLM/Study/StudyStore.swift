import Foundation
import GRDB
import ScalingLaws

/// A study's state in SQLite (`study.sqlite` in the study directory): its file, every run with its status
/// and fit loss, the losses recorded along each run, the fits and the predictions. Only the process that
/// runs the study writes it; runs themselves write only their own directories (so a cluster's tasks never
/// touch the database).
public final class StudyStore {
    public let queue: DatabaseQueue

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
                    parameters, flops, steps, directory, status, updatedAt)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)
                """, arguments: [run.id, run.study, run.design, run.phase.rawValue, run.width, run.hyper.learningRate, run.hyper.initStd,
                                 run.hyper.outputMultiplier, run.parameters, run.flops, run.steps, run.directory, Self.now])
        }
    }

    func setStatus(_ id: String, _ status: RunStatus, message: String? = nil) throws {
        try queue.write { db in
            try db.execute(sql: "UPDATE runs SET status = ?, message = ?, updatedAt = ? WHERE id = ?",
                           arguments: [status.rawValue, message, Self.now, id])
        }
    }

    /// Records a finished run's outcome from its summary.json.
    func record(_ id: String, summary: RunSummary) throws {
        let status: RunStatus = summary.status == .diverged ? .diverged : summary.status == .completed ? .done : .pending
        let last = summary.recorded.last
        try queue.write { db in
            try db.execute(sql: """
                UPDATE runs SET status = ?, loss = ?, validationLoss = ?, divergedAtStep = ?, message = NULL, updatedAt = ? WHERE id = ?
                """, arguments: [status.rawValue, status == .done ? last?.trainLoss : nil, status == .done ? last?.validationLoss : nil,
                                 summary.divergedAtStep, Self.now, id])
            try db.execute(sql: "DELETE FROM losses WHERE run = ?", arguments: [id])
            for r in summary.recorded {
                try db.execute(sql: "INSERT INTO losses (run, step, trainLoss, validationLoss) VALUES (?, ?, ?, ?)",
                               arguments: [id, r.step, r.trainLoss, r.validationLoss])
            }
        }
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
    }
}
