using Doppel.Kubernetes.PortForward;
using Doppel.Session.Agent;

namespace Doppel.Cli.Running;

/// <summary>
/// A session's way to an agent in a cluster: each <see cref="ConnectAsync"/> is a new stream of
/// the API server's WebSocket port-forward to the agent pod's port (<see cref="PodPortForward"/>),
/// one per HTTP/2 connection of the session (control and relay lanes, first and after a drop).
/// </summary>
internal sealed class PortForwardTransport(PodPortForward forward) : IAgentTransport, IAsyncDisposable
{
    /// <inheritdoc/>
    public string Address => forward.Address;

    /// <inheritdoc/>
    public ValueTask<Stream> ConnectAsync(CancellationToken cancellationToken) => forward.ConnectAsync(cancellationToken);

    /// <summary>Ends the port-forward (its open streams with it).</summary>
    public ValueTask DisposeAsync() => forward.DisposeAsync();
}
