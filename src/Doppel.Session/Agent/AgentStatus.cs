using Doppel.Protocol;
using Doppel.Protocol.V1;
using Grpc.Core;

namespace Doppel.Session.Agent;

/// <summary>
/// Asks an agent who uses it (<c>AgentService.Status</c>) without becoming a session: no Hello and
/// no <c>doppel-session-id</c>, so the asker is not listed (<c>doppel status</c>).
/// </summary>
public static class AgentStatus
{
    /// <summary>
    /// The agent's status. Throws <see cref="AgentConnectionException"/> with one sentence when the
    /// agent cannot be reached, refuses the call, or is too old to answer it (no <c>status</c> feature).
    /// </summary>
    public static async Task<StatusResponse> QueryAsync(IAgentTransport transport, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transport);
        using var channel = AgentConnection.OpenChannel(transport);
        var client = new AgentService.AgentServiceClient(channel);
        try
        {
            return await client.StatusAsync(
                new StatusRequest(),
                deadline: DateTime.UtcNow + AgentConnection.ConnectTimeout + AgentConnection.ConnectTimeout,
                cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unimplemented)
        {
            throw new AgentConnectionException($"the agent at {transport.Address} is older than this doppel and cannot list its sessions (it has no Status call).", e);
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new AgentConnectionException($"cannot ask the agent at {transport.Address} for its sessions: {e.Status.StatusCode}: {e.Status.Detail}", e);
        }
    }

    /// <summary>
    /// The other sessions of the agent <paramref name="connection"/> reaches, as <c>doppel exec</c>
    /// prints them when it joins (<c>2 other sessions on deployment/bff: alice@laptop1 (steal 8080,
    /// X-Dev-User: alice), bob@laptop2</c>); null when there are none or the agent cannot say (an
    /// older agent, a failed call: the line is only information).
    /// </summary>
    public static async Task<string?> OtherSessionsLineAsync(AgentConnection connection, string targetPath, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (!connection.Hello.Features.Contains(ProtocolFeatures.Status))
        {
            return null;
        }

        StatusResponse status;
        try
        {
            status = await connection.Agent.StatusAsync(new StatusRequest(), deadline: DateTime.UtcNow + AgentConnection.ConnectTimeout, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException)
        {
            return null;
        }

        var others = status.Sessions.Where(s => s.Id != connection.SessionId).ToList();
        return others.Count == 0
            ? null
            : $"{others.Count} other session{(others.Count == 1 ? "" : "s")} on {targetPath}: {string.Join(", ", others.Select(SessionStatusText.Summary))}";
    }
}
