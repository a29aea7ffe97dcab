using System.Net;
using Doppel.Interception.Policy;

namespace Doppel.Interception.Tests.Support;

/// <summary>A policy from lists: paths under a remote prefix and listed addresses go remote.</summary>
internal sealed record TestPolicy : IInterceptionPolicy
{
    public SyscallFamilies Families { get; init; } = SyscallFamilies.Outgoing | SyscallFamilies.FilesRead | SyscallFamilies.Hostname;

    public IReadOnlySet<string> SkippedProcesses { get; init; } = new HashSet<string>();

    public IReadOnlyList<string> RemotePrefixes { get; init; } = [];

    public IReadOnlyList<string> NotFoundPrefixes { get; init; } = [];

    public IReadOnlySet<IPAddress> RemoteAddresses { get; init; } = new HashSet<IPAddress>();

    public IReadOnlySet<IPAddress> DeniedAddresses { get; init; } = new HashSet<IPAddress>();

    public bool AllowWrites { get; init; }

    public InterceptionDecision DecideFile(string path, FileIntent intent)
    {
        if (Under(path, NotFoundPrefixes))
        {
            return InterceptionDecision.NotFound;
        }

        if (!Under(path, RemotePrefixes))
        {
            return InterceptionDecision.Local;
        }

        return intent == FileIntent.Write && !AllowWrites ? InterceptionDecision.Deny : InterceptionDecision.Remote;
    }

    public InterceptionDecision DecideOutgoing(Transport transport, IPEndPoint destination)
        => RemoteAddresses.Contains(destination.Address) ? InterceptionDecision.Remote
            : DeniedAddresses.Contains(destination.Address) ? InterceptionDecision.Deny
            : InterceptionDecision.Local;

    public int OnListen(Transport transport, IPAddress address, int port) => port;

    private static bool Under(string path, IReadOnlyList<string> prefixes)
        => prefixes.Any(p => path == p || path.StartsWith(p + "/", StringComparison.Ordinal));
}
