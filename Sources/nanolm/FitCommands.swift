import ArgumentParser

// Placeholder: the ScalingLaws work replaces this file with `fit`, `predict` and `cost`.
struct Fit: ParsableCommand { static let configuration = CommandConfiguration(abstract: "Fit a scaling law (not yet built).") }
struct Predict: ParsableCommand { static let configuration = CommandConfiguration(abstract: "Predict from a saved fit (not yet built).") }
struct Cost: ParsableCommand { static let configuration = CommandConfiguration(abstract: "Cost a μScaling plan (not yet built).") }
