using System.Net;

namespace Doppel.Interception.Policy;

/// <summary>
/// Decides, per intercepted call, whether it runs locally or remotely. Called on the
/// supervisor's receive path for every trapped syscall: implementations must be fast,
/// synchronous and thread-safe (no I/O; precompute from the configuration).
/// </summary>
public interface IInterceptionPolicy
{
    /// <summary>The syscall families the filter traps; fixed for the life of the process tree.</summary>
    SyscallFamilies Families { get; }

    /// <summary>
    /// File names of executables (e.g. "make") whose syscalls continue untouched
    /// (<c>skip_processes</c>, <c>skip_build_tools</c>). Empty: no process is skipped, and no
    /// per-call executable lookup is made.
    /// </summary>
    IReadOnlySet<string> SkippedProcesses { get; }

    /// <summary>For an absolute, lexically normalised path.</summary>
    InterceptionDecision DecideFile(string path, FileIntent intent);

    /// <summary>For a TCP connect or a UDP destination (IPv4-mapped addresses arrive as IPv4).</summary>
    InterceptionDecision DecideOutgoing(Transport transport, IPEndPoint destination);

    /// <summary>
    /// Told when the app binds a listening port; returns the port to bind instead
    /// (e.g. a privileged port remapped), or <paramref name="port"/> to keep it.
    /// </summary>
    int OnListen(Transport transport, IPAddress address, int port);
}
