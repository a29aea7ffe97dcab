using Doppel.Interception.Policy;
using Doppel.Interception.Remote;
using Doppel.Interception.Supervision;
using Doppel.Linux.Native;

namespace Doppel.Interception.Files;

/// <summary>
/// execve/execveat of a relative program path from a pod working directory (or relative to an fd of
/// a pod directory). The kernel resolves the path against its own working directory (the one the
/// process had before it entered the pod) or against the cache tree, and seccomp cannot change the
/// path it execs: continuing would run another file than the one the program named, a local
/// <c>./prog</c> or a cache placeholder. So such an exec fails with ENOENT, and when the program did
/// name an existing file, the user gets one warning line per path saying what to do
/// (<see cref="IInterceptionPolicy.OnProgramNotRun"/>):
/// <code>
///   execve(p) ─► absolute p, no virtual cwd, or no dirfd into the cache tree ──► the kernel's (no lookup)
///              relative to a virtual cwd ─► where the kernel would look is the same file ──► the kernel's
///                                         ─► otherwise ──► ENOENT (+ one warning when it exists there)
/// </code>
/// Running a local copy of a pod program is not attempted: exec takes the path from the caller's
/// memory, which doppel must not rewrite (the string may be argv[0] or read-only), and SECCOMP_ADDFD
/// cannot turn an execve into an execveat of an injected fd. The trap costs every exec one round
/// trip to the supervisor, which answers without a lookup unless the path is relative and the
/// process has a pod working directory.
/// </summary>
internal sealed partial class FileHandler
{
    private ValueTask<HandlerResult> ExecAsync(Notification n, int dirfd, ulong pathAddress, CancellationToken cancellationToken)
    {
        // Everything but a relative path from a pod directory is the kernel's, decided before any lookup.
        if (dirfd == OpenFlags.AtFdCwd && directories.Of(n.ThreadId) is null)
        {
            return new(n.Continue());
        }

        var raw = n.ReadString(pathAddress);
        if (string.IsNullOrEmpty(raw) || raw[0] == '/')
        {
            return new(n.Continue()); // an absolute path, or fexecve's AT_EMPTY_PATH: the file the caller named
        }

        var (absolute, throughVirtual) = Absolute(n, dirfd, raw);
        if (absolute is null)
        {
            return new(n.Continue());
        }

        var inTree = files.RemotePathOf(absolute);
        if (!throughVirtual && inTree is null)
        {
            return new(n.Continue()); // relative to a local directory's fd: the kernel resolves it as named
        }

        if (throughVirtual && inTree is null && KernelWouldFind(n, raw) == absolute)
        {
            return new(n.Continue()); // the kernel's working directory is that very directory
        }

        var path = inTree ?? policy.MapPath(absolute);
        var decision = policy.DecideFile(path, FileIntent.Read);
        if (DecisionErrnos.ForFile(decision) is { } errno)
        {
            return new(n.Fail(errno));
        }

        return decision == InterceptionDecision.Remote
            ? NotRunRemoteAsync(n, raw, path, cancellationToken)
            : new(NotRun(n, raw, absolute, inPod: false, exists: Path.Exists(absolute)));
    }

    private async ValueTask<HandlerResult> NotRunRemoteAsync(Notification n, string raw, string path, CancellationToken cancellationToken)
    {
        RemoteEntry? entry;
        try
        {
            entry = await EntryAsync(path, follow: true, cancellationToken).ConfigureAwait(false);
        }
        catch (RemoteFileException)
        {
            entry = null;
        }

        return NotRun(n, raw, path, inPod: true, exists: entry is not null);
    }

    /// <summary>ENOENT for an exec that would run another file; the user is told when the program named one that exists.</summary>
    private HandlerResult NotRun(Notification n, string raw, string path, bool inPod, bool exists)
    {
        if (exists)
        {
            policy.OnProgramNotRun(raw, path, inPod);
        }

        return n.Fail(Errno.ENOENT);
    }

    /// <summary>The absolute path the kernel's own resolution of <paramref name="raw"/> names (against /proc/TID/cwd); null when unseen.</summary>
    private static string? KernelWouldFind(Notification n, string raw)
    {
        string? directory;
        try
        {
            directory = new FileInfo($"/proc/{n.ThreadId}/cwd").LinkTarget;
        }
        catch (IOException)
        {
            directory = null;
        }

        return directory is null || directory[0] != '/' ? null : RemotePath.Combine(directory, raw);
    }
}
