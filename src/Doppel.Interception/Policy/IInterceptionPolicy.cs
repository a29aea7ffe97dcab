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

    /// <summary>For an absolute, lexically normalised path (after <see cref="MapPath"/>).</summary>
    InterceptionDecision DecideFile(string path, FileIntent intent);

    /// <summary>
    /// Rewrites a path the app named before anything else is decided (<c>feature.fs.mapping</c>);
    /// the rewritten path is what <see cref="DecideFile"/> sees and what the remote side is asked
    /// for. A rewritten path that is decided local is not redirected: the call runs on the path
    /// the app named. The default keeps every path.
    /// </summary>
    string MapPath(string path) => path;

    /// <summary>For a TCP connect or a UDP destination (IPv4-mapped addresses arrive as IPv4).</summary>
    InterceptionDecision DecideOutgoing(Transport transport, IPEndPoint destination);

    /// <summary>
    /// Asked when the app binds a non-zero port (<see cref="SyscallFamilies.Listen"/>); returns the
    /// port to bind instead (e.g. a privileged port remapped), or the requested port to keep it.
    /// </summary>
    int MapBindPort(Transport transport, IPEndPoint requested);

    /// <summary>
    /// Told when a TCP socket starts listening: <paramref name="local"/> is what it really listens
    /// on (after any remap, or the ephemeral port the kernel chose), <paramref name="requestedPort"/>
    /// the port the app asked for (what the pod's clients would connect to).
    /// </summary>
    void OnListening(IPEndPoint local, int requestedPort);

    /// <summary>
    /// The original client of a connection the session delivers to the app whose peer, as the app's
    /// accepted socket sees it, is <paramref name="peer"/> (the session's relay socket); null for any
    /// other peer (the real peer stays). Asked on the app's getpeername; must be fast. The default knows none.
    /// </summary>
    IPEndPoint? OriginalClient(IPEndPoint peer) => null;

    /// <summary>
    /// Whether the session may deliver whole TCP connections to the app's listener bound at
    /// <paramref name="listener"/> (<see cref="SyscallFamilies.Accept"/>): then doppel carries out
    /// the app's accept on it and writes <see cref="OriginalClient"/> as the peer's address. Asked on
    /// every trapped accept; must be fast. The default: none.
    /// </summary>
    bool DeliversTo(IPEndPoint listener) => false;

    /// <summary>
    /// Told when an exec of the relative program path <paramref name="program"/> was refused with
    /// ENOENT because it names <paramref name="path"/> relative to a pod working directory
    /// (<paramref name="inPod"/>: a pod path; otherwise a local one reached through a pod directory),
    /// which the kernel would not run: it resolves the path against the process's directory on this
    /// machine. Told only when that file exists. The default does nothing.
    /// </summary>
    void OnProgramNotRun(string program, string path, bool inPod)
    {
    }

    /// <summary>
    /// Told when a process of <see cref="SkippedProcesses"/> (its executable's file name
    /// <paramref name="name"/>) made a call the filter trapped, which then ran as if doppel were not
    /// there. The default does nothing.
    /// </summary>
    void OnProcessSkipped(string name)
    {
    }

    /// <summary>
    /// Told when a bind that <see cref="MapBindPort"/> moved to <paramref name="port"/> failed with
    /// <paramref name="errno"/> (the app gets that errno, e.g. 98 EADDRINUSE: never a silent other
    /// port). The default does nothing.
    /// </summary>
    void OnBindMoveFailed(Transport transport, IPEndPoint requested, int port, int errno)
    {
    }
}
