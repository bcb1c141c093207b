/// Facts about this build of nanolm.
public enum NanoLMInfo {
    public static let version = "0.1.0"
}
