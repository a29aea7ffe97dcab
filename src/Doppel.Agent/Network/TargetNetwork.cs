using System.Net.Sockets;
using Doppel.Agent.Targets;
using Doppel.Linux.Namespaces;

namespace Doppel.Agent.Network;

/// <summary>
/// Creates sockets in the target's network namespace (<c>/proc/PID/ns/net</c>, or the targetless
/// agent's --netns): every socket() runs on one thread that joined that namespace once
/// (<see cref="NetworkNamespaceThread"/>), then the socket is used with ordinary async calls from
/// any thread. The agent's own namespace never needs a route to anything.
/// </summary>
internal sealed class TargetNetwork : IDisposable
{
    private readonly NetworkNamespaceThread _thread;

    private TargetNetwork(NetworkNamespaceThread thread) => _thread = thread;

    /// <summary>Joins the target's namespace; <see cref="TargetException"/> when that fails.</summary>
    public static TargetNetwork Open(Target target)
    {
        try
        {
            return new TargetNetwork(NetworkNamespaceThread.Start(target.NetworkNamespacePath, "target-netns"));
        }
        catch (IOException e)
        {
            throw new TargetException($"{e.Message} Check that the target is running and that the agent has CAP_SYS_ADMIN.");
        }
    }

    /// <summary>A new socket in the target's namespace.</summary>
    public Task<Socket> CreateSocketAsync(AddressFamily family, SocketType type, ProtocolType protocol) =>
        _thread.RunAsync(() => new Socket(family, type, protocol));

    public void Dispose() => _thread.Dispose();
}
