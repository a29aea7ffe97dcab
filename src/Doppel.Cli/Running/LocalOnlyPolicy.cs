using System.Net;
using Doppel.Interception.Policy;

namespace Doppel.Cli.Running;

/// <summary>
/// The policy of a run with no target: nothing is trapped, so nothing is redirected. The program
/// still runs through the launcher and supervisor, with exit codes and signals handled as in
/// every run.
/// </summary>
internal sealed class LocalOnlyPolicy : IInterceptionPolicy
{
    public SyscallFamilies Families => SyscallFamilies.None;

    public IReadOnlySet<string> SkippedProcesses { get; } = new HashSet<string>();

    public InterceptionDecision DecideFile(string path, FileIntent intent) => InterceptionDecision.Local;

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
