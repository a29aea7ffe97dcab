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

    /// <summary>Bind port remaps (e.g. 80 to 8080).</summary>
    public IReadOnlyDictionary<int, int> PortMap { get; init; } = new Dictionary<int, int>();

    public System.Collections.Concurrent.ConcurrentQueue<(IPEndPoint Local, int Requested)> Listening { get; } = new();

    public int MapBindPort(Transport transport, IPEndPoint requested)
        => PortMap.TryGetValue(requested.Port, out var port) ? port : requested.Port;

    public void OnListening(IPEndPoint local, int requestedPort) => Listening.Enqueue((local, requestedPort));

    public System.Collections.Concurrent.ConcurrentQueue<(int Requested, int Port, int Errno)> BindMovesFailed { get; } = new();

    /// <summary>Execs a pod working directory kept from running: (program, path, in the pod).</summary>
    public System.Collections.Concurrent.ConcurrentQueue<(string Program, string Path, bool InPod)> ProgramsNotRun { get; } = new();

    public void OnProgramNotRun(string program, string path, bool inPod) => ProgramsNotRun.Enqueue((program, path, inPod));

    /// <summary>The names of skipped processes whose trapped calls ran untouched, as the supervisor told them.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> ProcessesSkipped { get; } = new();

    public void OnProcessSkipped(string name) => ProcessesSkipped.Enqueue(name);

    public void OnBindMoveFailed(Transport transport, IPEndPoint requested, int port, int errno) => BindMovesFailed.Enqueue((requested.Port, port, errno));

    /// <summary>Delivered connections: the session's relay end (the peer the app sees) to the original client.</summary>
    public IReadOnlyDictionary<IPEndPoint, IPEndPoint> OriginalClients { get; init; } = new Dictionary<IPEndPoint, IPEndPoint>();

    /// <summary>The app's listening ports the session delivers to.</summary>
    public IReadOnlySet<int> DeliveryPorts { get; init; } = new HashSet<int>();

    public IPEndPoint? OriginalClient(IPEndPoint peer) => OriginalClients.GetValueOrDefault(peer);

    public bool DeliversTo(IPEndPoint listener) => DeliveryPorts.Contains(listener.Port);

    private static bool Under(string path, IReadOnlyList<string> prefixes)
        => prefixes.Any(p => path == p || path.StartsWith(p + "/", StringComparison.Ordinal));
}
