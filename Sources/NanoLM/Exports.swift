// A model's configuration, μP rules and counts live in ModelSpec (no libtorch); whoever imports NanoLM
// gets them as before.
@_exported import ModelSpec
