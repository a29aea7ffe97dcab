namespace Doppel.Agent.Hosting;

/// <summary>
/// Turns on the runtime's inline socket completions for the agent process: a socket operation
/// that completes later continues on the epoll thread that saw it complete, instead of being
/// queued to the thread pool (<c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c>, read once by
/// <c>System.Net.Sockets.SocketAsyncEngine</c> before its first socket; dotnet/runtime,
/// <c>SocketAsyncEngine.Unix.cs</c>).
/// </summary>
/// <remarks>
/// Every unmatched request a redirected port passes through crosses two sockets the agent owns
/// (the client's, through Kestrel, and the pooled one to the pod's app, through
/// <see cref="System.Net.Http.SocketsHttpHandler"/>); Kestrel already runs its part inline
/// (<c>UnsafePreferInlineScheduling</c>), and this removes the remaining epoll → thread-pool hop
/// per read and the wake-ups it costs: 71 → 49 µs of agent CPU per HTTP/1.1 pass-through request
/// (docs/benchmarks.md, session 11). It is safe because no code in the agent blocks on a socket's
/// continuation: calls that block (the namespace threads, nftables) run on their own threads, and
/// gRPC calls' own code runs on the thread pool as before. An explicit value in the agent's
/// environment (<c>0</c> to turn it off) is kept.
/// </remarks>
internal static class InlineSocketCompletions
{
    /// <summary>The runtime's switch; only the value <c>1</c> turns it on.</summary>
    public const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>Sets <see cref="Variable"/> to <c>1</c> unless the environment names a value; call before the first socket.</summary>
    public static void Enable()
    {
        if (Environment.GetEnvironmentVariable(Variable) is null)
        {
            Environment.SetEnvironmentVariable(Variable, "1");
        }
    }
}
