using System.ComponentModel;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Doppel.Config;

/// <summary><c>feature.fs</c>: a boolean, a mode string, or an object.</summary>
public sealed record FsConfig
{
    public FsMode Mode { get; init; } = FsMode.Read;

    [Description("Paths (case-insensitive regexes) read and written remotely.")]
    public IReadOnlyList<string> ReadWrite { get; init; } = [];

    [Description("Paths (case-insensitive regexes) read remotely, never written.")]
    public IReadOnlyList<string> ReadOnly { get; init; } = [];

    [Description("Paths (case-insensitive regexes) kept local.")]
    public IReadOnlyList<string> Local { get; init; } = [];

    [Description("Paths (case-insensitive regexes) that do not exist for the process.")]
    public IReadOnlyList<string> NotFound { get; init; } = [];

    [Description("Regex → replacement applied to a path before any other rule.")]
    public IReadOnlyDictionary<string, string> Mapping { get; init; } = new Dictionary<string, string>();

    [Description("Read-ahead buffer for remote read-only files, in bytes.")]
    public int ReadonlyFileBuffer { get; init; } = 128_000;

    /// <summary>The path rules compiled once at load (validation proves every one compiles).</summary>
    [JsonIgnore]
    public FsRules Rules { get; init; } = FsRules.Empty;

    /// <summary>Read locally by default, even in read/write mode (REFERENCE.md).</summary>
    public static IReadOnlyList<string> DefaultLocal { get; } =
    [
        @"\.so$", @"\.py$", @"\.jar$", @"\.js$", "^/proc(/|$)", "^/sys", "^/lib", "^/etc", "^/usr", "^/home", "^/bin",
        "^/dev", "^/tmp", "^/nix", "/node_modules", @"/package\.json$",
    ];

    /// <summary>Read remotely even though <see cref="DefaultLocal"/> matches them.</summary>
    public static IReadOnlyList<string> DefaultRemote { get; } =
    [
        "^/etc/resolv.conf$", "^/etc/hosts$", "^/etc/hostname$", "^/etc/ssl/certs(/|$)",
    ];

    /// <summary>
    /// Not found by default, below the developer's home directory only (as mirrord's
    /// <c>not_found_by_default.rs</c>): credentials of the developer's own cloud tools. Each is
    /// matched as <c>^HOME/PATTERN</c>, so a project directory named <c>Doppel.Kubernetes.Tests</c>
    /// or <c>my.kube-tools</c> elsewhere is not hidden.
    /// </summary>
    public static IReadOnlyList<string> DefaultNotFound { get; } = [@"\.aws", @"\.config/gcloud", @"\.kube", @"\.azure"];
}
