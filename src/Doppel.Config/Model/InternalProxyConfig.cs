using System.ComponentModel;

namespace Doppel.Config;

/// <summary><c>internal_proxy</c>: mirrord's local proxy. In doppel the session lives in the CLI process.</summary>
public sealed record InternalProxyConfig
{
    [Description("Seconds to wait for the first connection.")]
    public int StartIdleTimeout { get; init; } = 60;

    [Description("Seconds to stay after the last connection closed.")]
    public int IdleTimeout { get; init; } = 5;

    public string? LogLevel { get; init; }

    public string? LogDestination { get; init; }
}
