namespace Doppel.Session.Agent;

/// <summary>
/// How a session reaches its agent: one new byte stream per HTTP/2 connection (the control
/// connection and each relay lane, first and again after a drop). A local agent's unix socket
/// (<see cref="AgentEndpoint"/>) is one; a Kubernetes port-forward to an agent pod is another —
/// placing the agent is the caller's job, reaching it is the transport's.
/// </summary>
public interface IAgentTransport
{
    /// <summary>Where the agent is, for messages (<c>unix:/…/agent.sock</c>, <c>pod/NAME:PORT</c>, …).</summary>
    string Address { get; }

    /// <summary>Opens a new stream to the agent; throws (IOException, SocketException, …) when it cannot be reached.</summary>
    ValueTask<Stream> ConnectAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The token the agent requires on every call (a cluster agent's, read from its Secret:
    /// Doppel.Kubernetes.Agents.AgentSharing), sent as gRPC metadata <c>doppel-agent-token</c>;
    /// null for an agent that requires none (a local agent behind its 0600 unix socket).
    /// </summary>
    string? Token => null;
}
