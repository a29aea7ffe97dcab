using System.ComponentModel;

namespace Doppel.Config;

/// <summary>
/// The resolved configuration: built-in defaults, then the file, then the environment, then
/// CLI flags. It is the only thing commands pass down. Key names follow mirrord's files
/// (snake_case on the wire) so users can bring theirs unchanged.
/// </summary>
public sealed record DoppelConfig
{
    [Description("What to impersonate: a pod or workload (\"deployment/x/container/y\"), a local process (\"pid/N\"), a local container (\"container/ID\"), or \"targetless\".")]
    public TargetConfig? Target { get; init; }

    public FeatureConfig Feature { get; init; } = new();

    public AgentConfig Agent { get; init; } = new();

    [Description("Use the mirrord operator. doppel needs none: several developers share one agent in the open; kept so existing files load.")]
    public bool? Operator { get; init; }

    [Description("Path of the kubeconfig file; defaults to KUBECONFIG or ~/.kube/config.")]
    public string? Kubeconfig { get; init; }

    [Description("Kube context to use; defaults to the current context.")]
    public string? KubeContext { get; init; }

    [Description("Accept the API server's certificate even if it is invalid.")]
    public bool AcceptInvalidCertificates { get; init; }

    [Description("Processes (by executable name) that run untouched, without interception.")]
    public IReadOnlyList<string> SkipProcesses { get; init; } = [];

    [Description("Leave common build tools (compilers, linkers, git, go, cargo, ...) untouched.")]
    public bool SkipBuildTools { get; init; } = true;

    [Description("More build tools to leave untouched, with skip_build_tools on; doppel adds them to skip_processes.")]
    public IReadOnlyList<string> SkipExtraBuildTools { get; init; } = [];

    public StartupRetryConfig StartupRetry { get; init; } = new();

    [Description("Session key: sessions with the same key share one agent and its subscriptions. Generated when not given.")]
    public string? Key { get; init; }

    [Description("Accepted for compatibility; doppel sends no telemetry.")]
    public bool Telemetry { get; init; } = true;

    /// <summary>The build tools skipped when <see cref="SkipBuildTools"/> is on (REFERENCE.md).</summary>
    public static IReadOnlyList<string> BuildTools { get; } =
    [
        "as", "cc", "ld", "go", "air", "asm", "cc1", "cgo", "dlv", "gcc", "git", "link", "math", "cargo",
        "hpack", "rustc", "compile", "collect2", "cargo-watch", "debugserver",
    ];
}
