using System.ComponentModel;

namespace Doppel.Config;

/// <summary><c>startup_retry</c>: backoff when the cluster is not reachable at start.</summary>
public sealed record StartupRetryConfig
{
    public int MinMs { get; init; } = 500;

    public int MaxMs { get; init; } = 5000;

    [Description("Retries after the first attempt; 0 means no retry.")]
    public int MaxRetries { get; init; }
}
