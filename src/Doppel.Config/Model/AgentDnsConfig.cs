namespace Doppel.Config;

public sealed record AgentDnsConfig
{
    /// <summary>Seconds per DNS attempt in the pod; null keeps the resolver's own.</summary>
    public int? Timeout { get; init; }

    public int? Attempts { get; init; }
}
