/// Facts about this build of nanolm (here, in the module without libtorch, so both binaries can say them).
public enum NanoLMInfo {
    public static let version = "0.1.0"
}
