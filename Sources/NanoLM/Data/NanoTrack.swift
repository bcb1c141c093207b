import Foundation

/// The built-in tracks: the paper's nanoLM tracks (Table 5's proportions at 100B/400B/1T/2T tokens; the
/// user supplies the files) and the nano track, made of text that Debian packages ship so the whole
/// pipeline runs on a fresh machine with no download beyond apt.
public enum BuiltinTracks {
    /// Debian 12 packages the nano track reads (scripts/deps.sh installs them). dictd is there only
    /// because dict-gcide depends on a dictionary server.
    public static let nanoPackages = ["python3.11", "python3.11-doc", "dict-gcide", "dictd", "bible-kjv",
                                      "debian-faq", "c++-annotations-latex", "gzip"]

    /// Names `--track` accepts.
    public static let names = ["nano", "nanolm-100b", "nanolm-400b", "nanolm-1t", "nanolm-2t"]

    public static func named(_ name: String) -> Track? {
        switch name {
        case "nano": return nano()
        case "nanolm-100b": return nanoLM(tokens: 100_000_000_000, label: "100b")
        case "nanolm-400b": return nanoLM(tokens: 400_000_000_000, label: "400b")
        case "nanolm-1t": return nanoLM(tokens: 1_000_000_000_000, label: "1t")
        case "nanolm-2t": return nanoLM(tokens: 2_000_000_000_000, label: "2t")
        default: return nil
        }
    }

    /// The paper's Table 5 (sampling proportions in percent; they sum to 99.98 and are normalized).
    public static let table5: [(domain: String, percent: Double, note: String)] = [
        ("arxiv", 6.04, "arXiv (LaTeX papers)"),
        ("books", 5.22, "Books"),
        ("refinedweb", 20.81, "Falcon RefinedWeb"),
        ("refinedweb-wiki", 49.78, "Falcon RefinedWeb, wiki-like subset"),
        ("openwebtext2", 3.11, "OpenWebText2"),
        ("stackexchange", 3.81, "StackExchange"),
        ("github", 10.18, "GitHub"),
        ("wikipedia", 1.03, "Wikipedia"),
    ]

    /// The nanoLM track at `tokens`: every domain reads JSONL (field "text", optionally .gz/.zst) from
    /// `DATA/<domain>/` — replace the paths (`nanolm data track nanolm-100b > track.json`) or pass
    /// `--source DOMAIN=PATH` to `nanolm data build`.
    public static func nanoLM(tokens: Int, label: String) -> Track {
        Track(name: "nanolm-\(label)", tokens: tokens, validationTokens: tokens / 1000, seed: 0,
              domains: table5.map { row in
                  TrackDomain(name: row.domain, proportion: row.percent / 100,
                              sources: [TrackSource(paths: ["DATA/\(row.domain)/"], format: .jsonl, field: "text",
                                                    extensions: [".jsonl", ".jsonl.gz", ".jsonl.zst", ".json.gz"])],
                              note: row.note)
              })
    }

    /// The nano track: six domains standing in for Table 5's, with Table 5's proportions grouped
    /// (web = RefinedWeb + OpenWebText2, encyclopedic = wiki-like + Wikipedia). 20M training tokens by
    /// default — a few μScaling studies' worth at nano scale.
    public static func nano(tokens: Int = 20_000_000) -> Track {
        let python = "/usr/lib/python3.11"
        let pydoc = "/usr/share/doc/python3.11/html"
        return Track(
            name: "nano", tokens: tokens, validationTokens: max(tokens / 100, 100_000),
            validationDocumentTokens: 256, validationSplitTokens: max(tokens / 50, 200_000), seed: 0,
            domains: [
                TrackDomain(name: "encyclopedic", proportion: 0.4978 + 0.0103, sources: [
                    TrackSource(paths: ["/usr/share/dictd/gcide.dict.dz"], split: .paragraphs, minDocumentBytes: 4096),
                ], note: "RefinedWeb wiki-like + Wikipedia → GNU Collaborative International Dictionary of English (dict-gcide)"),
                TrackDomain(name: "web", proportion: 0.2081 + 0.0311, sources: [
                    TrackSource(paths: [pydoc], format: .html, extensions: [".html"],
                                exclude: ["*/faq/*", "*/genindex*", "*/py-modindex.html", "*/search.html"]),
                ], note: "RefinedWeb + OpenWebText2 → Python's HTML documentation as text (python3.11-doc)"),
                TrackDomain(name: "code", proportion: 0.1018, sources: [
                    TrackSource(paths: [python], extensions: [".py"],
                                exclude: ["*/test/*", "*/tests/*", "*/site-packages/*", "*/dist-packages/*", "*/idlelib/idle_test/*"]),
                ], note: "GitHub → Python's standard library sources (python3.11)"),
                TrackDomain(name: "academic", proportion: 0.0604, sources: [
                    TrackSource(paths: ["/usr/share/doc/c++-annotations/cplusplus.latex.gz"], split: .paragraphs,
                                minDocumentBytes: 8192),
                ], note: "arXiv → the C++ Annotations' LaTeX source (c++-annotations-latex)"),
                TrackDomain(name: "books", proportion: 0.0522, sources: [
                    TrackSource(command: ["bible", "gen1:1-rev22:21"], split: .paragraphs, minDocumentBytes: 8192),
                ], note: "Books → the King James Bible (bible-kjv, bible-kjv-text)"),
                TrackDomain(name: "qa", proportion: 0.0381, sources: [
                    TrackSource(paths: ["\(pydoc)/_sources/faq"], split: .paragraphs, minDocumentBytes: 4096,
                                extensions: [".rst.txt"]),
                    TrackSource(paths: ["/usr/share/doc/debian/FAQ/debian-faq.en.txt.gz"], split: .paragraphs,
                                minDocumentBytes: 4096),
                ], note: "StackExchange → the Python FAQ (python3.11-doc) and the Debian FAQ (debian-faq)"),
            ],
            packages: nanoPackages)
    }
}
