import ArgumentParser

// Placeholder until the study lands (issue 7): `nanolm study run|status|report`.
struct Study: ParsableCommand { static let configuration = CommandConfiguration(abstract: "Run a μScaling study (not yet built).") }
