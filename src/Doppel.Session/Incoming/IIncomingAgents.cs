using Doppel.Session.Agent;

namespace Doppel.Session.Incoming;

/// <summary>
/// A session whose incoming traffic can be taken at more agents than its own (issue 12 item 3:
/// the agents beside a workload's other replicas): <c>doppel exec</c>'s
/// (<see cref="Sessions.DoppelSession"/>) and <c>doppel port-forward -R</c>'s
/// (<see cref="Forwarding.PortForwardSession"/>). The replica follower of the CLI adds and removes
/// the agents; the session subscribes its ports at each with its own mode and filter.
/// </summary>
public interface IIncomingAgents
{
    /// <summary>True when the session takes incoming traffic (steal or mirror of a target's ports); the other members do nothing otherwise.</summary>
    bool TakesIncoming { get; }

    /// <summary>
    /// Whether there is incoming traffic to take yet: exec's program has listened on a TCP port;
    /// a port-forward with <c>-R</c> from the start. Agents are placed at the replicas only then.
    /// </summary>
    bool IncomingListened { get; }

    /// <summary>
    /// Takes the session's incoming traffic also at the agent <paramref name="transport"/> reaches,
    /// under <paramref name="name"/> (<c>pod bff-7d…-x2</c>, as progress lines name it): every port
    /// subscribed at the session's own agent, now or later, is subscribed there too and delivered to
    /// the same local port. One progress line: <c>incoming: also stealing from NAME (N replicas)</c>.
    /// Throws <see cref="AgentConnectionException"/> (one sentence) when the agent cannot be reached,
    /// <see cref="InvalidOperationException"/> when <paramref name="name"/> was added already.
    /// </summary>
    Task AddIncomingAgentAsync(IAgentTransport transport, string name, CancellationToken cancellationToken);

    /// <summary>
    /// Ends the session's subscriptions at the agent added as <paramref name="name"/> and closes that
    /// connection, waiting at most 5 s for the agent; one progress line <c>incoming: NAME left (N replicas)</c>.
    /// False when no agent was added so.
    /// </summary>
    Task<bool> RemoveIncomingAgentAsync(string name);

    /// <summary>The session's own target pod is gone: its agent is no longer counted among the replicas the progress lines name.</summary>
    void IncomingTargetGone();
}
