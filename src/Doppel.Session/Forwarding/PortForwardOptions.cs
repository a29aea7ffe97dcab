using Doppel.Config;

namespace Doppel.Session.Forwarding;

/// <summary>What <see cref="PortForwardSession.StartAsync"/> needs besides the agent's transport.</summary>
public sealed record PortForwardOptions
{
    /// <summary>The resolved configuration: <c>key</c> (the session's name at the agent), <c>feature.network.incoming</c> (the -R mode and filter), <c>agent.flush_connections</c>.</summary>
    public required DoppelConfig Config { get; init; }

    /// <summary>The -L listeners, already bound (<see cref="ForwardListeners.Bind"/>); the session accepts on them and closes them at its end.</summary>
    public required ForwardListeners Listeners { get; init; }

    /// <summary>The -R forwards; empty for none.</summary>
    public IReadOnlyList<ReverseForward> Reverse { get; init; } = [];

    /// <summary>doppel's version, for the agent's hello.</summary>
    public required string ClientVersion { get; init; }

    /// <summary>Who this session is in other sessions' messages ("alice@laptop (pid 42)").</summary>
    public required string SessionName { get; init; }

    /// <summary>Progress lines (a -R port subscribed, the agent answering again).</summary>
    public Action<string> Info { get; init; } = _ => { };

    /// <summary>Warnings (a forwarded connection that could not be made, the agent not answering).</summary>
    public Action<string> Warn { get; init; } = _ => { };

    /// <summary>Errors (a -R port the agent refuses).</summary>
    public Action<string> Error { get; init; } = _ => { };
}
