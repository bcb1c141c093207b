import ArgumentParser

// Placeholder until the evaluation harness lands (issue 8): `nanolm eval`.
struct Eval: ParsableCommand { static let configuration = CommandConfiguration(abstract: "Score a checkpoint on multiple-choice tasks (not yet built).") }
