import ArgumentParser

// Placeholder until the BPE tokenizer lands (issue 6): `nanolm tokenizer train|encode|decode`.
struct TokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokenizer", abstract: "Train and apply a byte-level BPE tokenizer (not yet built).")
}
