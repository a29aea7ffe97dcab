namespace Doppel.Agent.Hosting;

/// <summary>The parsed command line.</summary>
internal sealed record AgentOptions
{
    public required string Target { get; init; }

    /// <summary>Targetless only: <c>--netns NAME|PATH</c>, the namespace outgoing traffic and DNS leave from.</summary>
    public string? NetworkNamespace { get; init; }

    /// <summary><c>unix:PATH</c> or <c>127.0.0.1:PORT</c>.</summary>
    public string Listen { get; init; } = "127.0.0.1:0";

    public TimeSpan IdleExit { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// <c>--first-connection-timeout</c>: the agent exits when no client has connected this long after
    /// it started (a cluster agent whose launcher died before connecting); null waits indefinitely.
    /// </summary>
    public TimeSpan? FirstConnectionTimeout { get; init; }

    /// <summary><c>--log-level</c>: the least severe messages written to standard error (default information).</summary>
    public Microsoft.Extensions.Logging.LogLevel LogLevel { get; init; } = Microsoft.Extensions.Logging.LogLevel.Information;

    /// <summary>
    /// <c>--http-probe-ports P,Q</c>: the target's ports that the kubelet's HTTP probes check
    /// (Doppel.Kubernetes.Targets.KubeletProbes); a whole-port steal of one leaves the probes to the
    /// app (<see cref="Targets.Target.HttpProbePorts"/>). Empty by default.
    /// </summary>
    public IReadOnlySet<int> HttpProbePorts { get; init; } = new HashSet<int>();
}
