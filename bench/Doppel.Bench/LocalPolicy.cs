using System.Net;
using Doppel.Interception.Policy;

namespace Doppel.Bench;

/// <summary>
/// Traps what a default configuration traps (fs mode read, outgoing, hostname) and keeps every
/// path and address local, so each trapped call is decided and continued. Counts file decisions
/// so a figure can prove its calls really reached the supervisor.
/// </summary>
internal sealed class LocalPolicy : IInterceptionPolicy
{
    public const SyscallFamilies DefaultFamilies = SyscallFamilies.FilesRead | SyscallFamilies.Outgoing | SyscallFamilies.Hostname;

    private long _fileDecisions;

    public SyscallFamilies Families => DefaultFamilies;

    public IReadOnlySet<string> SkippedProcesses { get; } = new HashSet<string>();

    public long FileDecisions => Interlocked.Read(ref _fileDecisions);

    public InterceptionDecision DecideFile(string path, FileIntent intent)
    {
        Interlocked.Increment(ref _fileDecisions);
        return InterceptionDecision.Local;
    }

    public InterceptionDecision DecideOutgoing(Transport transport, IPEndPoint destination) => InterceptionDecision.Local;

    public int MapBindPort(Transport transport, IPEndPoint requested)
    {
        ArgumentNullException.ThrowIfNull(requested);
        return requested.Port;
    }

    public void OnListening(IPEndPoint local, int requestedPort)
    {
    }
}
