using System.Text;
using Doppel.Interception.Policy;
using Doppel.Interception.Remote;
using Doppel.Interception.Supervision;
using Doppel.Linux.Native;
using Doppel.Linux.Processes;

namespace Doppel.Interception.Files;

/// <summary>
/// The working directory in the pod (<see cref="WorkingDirectories"/>): chdir/fchdir into a
/// remote directory succeed without the kernel (which has no such directory), getcwd answers
/// the virtual directory, and relative paths of trapped calls are resolved against it.
/// <code>
///   chdir(p) ─► absolute (against the virtual cwd if any) ─► policy
///      remote directory ──► virtual cwd = p, return 0
///      local, absolute  ──► drop the virtual cwd, continue (the kernel's chdir runs)
///      local, relative to a virtual cwd ──► virtual cwd = p (the kernel's would resolve elsewhere)
///   fchdir(fd of a served directory) ─► virtual cwd = its remote path, return 0
///   fchdir(local fd) ─► drop the virtual cwd, continue
///   getcwd ─► virtual cwd, or continue
/// </code>
/// symlink and link resolve their relative names against it too (FileHandler.Links.cs), and an
/// execve of a relative program from it fails with ENOENT rather than run the file the kernel
/// would find (FileHandler.Exec.cs). Calls that are not trapped (mknod, bind of a relative unix
/// socket path, inotify_add_watch) still resolve a relative path against the kernel's working
/// directory: the directory the process was in before it changed into the pod.
/// </summary>
internal sealed partial class FileHandler
{
    /// <summary>
    /// The absolute, normalized path a call names (before mapping) and whether it was resolved
    /// against a virtual working directory; a null path when the directory cannot be seen.
    /// </summary>
    private (string? Absolute, bool ThroughVirtual) Absolute(Notification n, int dirfd, string raw)
    {
        if (raw[0] == '/')
        {
            return (RemotePath.Normalize(raw), false);
        }

        if (dirfd == OpenFlags.AtFdCwd && directories.Of(n.ThreadId) is { } virtualDirectory)
        {
            return (RemotePath.Combine(virtualDirectory, raw), true);
        }

        var link = dirfd == OpenFlags.AtFdCwd ? $"/proc/{n.ThreadId}/cwd" : $"/proc/{n.ThreadId}/fd/{dirfd}";
        string? directory;
        try
        {
            directory = new FileInfo(link).LinkTarget;
        }
        catch (IOException)
        {
            directory = null;
        }

        return directory is null || directory[0] != '/' ? (null, false) : (RemotePath.Combine(directory, raw), false);
    }

    /// <summary>
    /// A relative path that a virtual working directory turned into a local one: the kernel would
    /// resolve it against its own working directory, so an open is done here and its fd injected;
    /// other calls fail with ENOENT rather than act on another file.
    /// </summary>
    private static HandlerResult LocalThroughVirtual(Notification n, string absolute)
    {
        var (flags, mode) = n.Nr switch
        {
            SyscallNumber.Open => (n.ArgInt(1), n.ArgInt(2)),
            SyscallNumber.Openat => (n.ArgInt(2), n.ArgInt(3)),
            SyscallNumber.Creat => (OpenFlags.Create | OpenFlags.WriteOnly | OpenFlags.Truncate, n.ArgInt(1)),
            _ => (-1, 0),
        };
        if (flags == -1)
        {
            return n.Fail(Errno.ENOENT);
        }

        using var file = FileCalls.Open(absolute, flags & ~OpenFlags.CloseOnExec, mode, out var errno);
        if (file is null)
        {
            return n.Fail(errno);
        }

        var fd = n.InjectAndReturn(file, closeOnExec: (flags & OpenFlags.CloseOnExec) != 0);
        return fd >= 0 ? HandlerResult.Answered : n.Fail(-fd);
    }

    private ValueTask<HandlerResult> ChdirAsync(Notification n, CancellationToken cancellationToken)
    {
        var raw = n.ReadString(n.Arg(0));
        if (string.IsNullOrEmpty(raw))
        {
            return new(n.Continue());
        }

        var (absolute, throughVirtual) = Absolute(n, OpenFlags.AtFdCwd, raw);
        if (absolute is null)
        {
            return new(n.Continue());
        }

        var path = files.RemotePathOf(absolute) ?? policy.MapPath(absolute);
        var decision = policy.DecideFile(path, FileIntent.Read);
        if (decision == InterceptionDecision.Remote)
        {
            return ChdirRemoteAsync(n, absolute, path, cancellationToken);
        }

        if (DecisionErrnos.ForFile(decision) is { } errno)
        {
            return new(n.Fail(errno));
        }

        if (!throughVirtual)
        {
            // The kernel's own chdir: back in a local directory, the virtual one no longer applies.
            if (Directory.Exists(absolute))
            {
                directories.Set(n.ThreadId, null);
            }

            return new(n.Continue());
        }

        if (!Directory.Exists(absolute))
        {
            return new(n.Fail(File.Exists(absolute) ? Errno.ENOTDIR : Errno.ENOENT));
        }

        directories.Set(n.ThreadId, absolute);
        return new(n.Return(0));
    }

    private async ValueTask<HandlerResult> ChdirRemoteAsync(Notification n, string absolute, string path, CancellationToken cancellationToken)
    {
        await files.SettleAsync(path, cancellationToken).ConfigureAwait(false);
        var entry = await remote.GetEntryAsync(path, followSymlinks: true, cancellationToken).ConfigureAwait(false);
        if (entry is null)
        {
            return n.Fail(Errno.ENOENT);
        }

        if (entry.Kind != RemoteEntryKind.Directory)
        {
            return n.Fail(Errno.ENOTDIR);
        }

        // The kernel keeps the directory, not the name it was reached by: getcwd shows the target
        // of a symlink on the way and ".." is the target's parent, as after a real chdir.
        var resolved = path == absolute ? await ResolveAsync(absolute, cancellationToken).ConfigureAwait(false) : absolute;
        if (resolved is null)
        {
            return n.Fail(Errno.ELOOP);
        }

        if (!n.IsValid())
        {
            return n.Continue();
        }

        directories.Set(n.ThreadId, resolved);
        return n.Return(0);
    }

    /// <summary>
    /// <paramref name="absolute"/> with every symlink on the way replaced by its target (pod
    /// symlinks read from the pod, local ones from here), as realpath does; null after 40 links
    /// (ELOOP, Linux's limit). Only for paths the policy does not map elsewhere.
    /// </summary>
    private async ValueTask<string?> ResolveAsync(string absolute, CancellationToken cancellationToken)
    {
        const int MaxLinks = 40;
        var pending = new Stack<string>(absolute.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse());
        var resolved = "/";
        var links = 0;
        while (pending.TryPop(out var part))
        {
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                resolved = RemotePath.Parent(resolved);
                continue;
            }

            var candidate = RemotePath.Combine(resolved, part);
            var target = policy.DecideFile(candidate, FileIntent.Read) == InterceptionDecision.Remote
                ? (await remote.GetEntryAsync(candidate, followSymlinks: false, cancellationToken).ConfigureAwait(false)) is { Kind: RemoteEntryKind.Symlink } link ? link.LinkTarget : null
                : LocalLinkTarget(candidate);
            if (string.IsNullOrEmpty(target))
            {
                resolved = candidate;
                continue;
            }

            if (++links > MaxLinks)
            {
                return null;
            }

            foreach (var linked in target.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse())
            {
                pending.Push(linked);
            }

            if (target[0] == '/')
            {
                resolved = "/";
            }
        }

        return resolved;
    }

    private static string? LocalLinkTarget(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private HandlerResult Fchdir(Notification n)
    {
        var target = FdLinks.Target(n.ThreadId, n.ArgInt(0));
        if (target is null || target[0] != '/')
        {
            return n.Continue(); // not an fd of a directory we know: the kernel answers (EBADF, ENOTDIR)
        }

        if (files.RemotePathOf(target) is { } remotePath)
        {
            // A directory served from the cache tree: its remote path is the working directory.
            if (!Directory.Exists(target))
            {
                return n.Fail(Errno.ENOTDIR);
            }

            directories.Set(n.ThreadId, remotePath);
            return n.Return(0);
        }

        if (Directory.Exists(target))
        {
            directories.Set(n.ThreadId, null);
        }

        return n.Continue();
    }

    private HandlerResult Getcwd(Notification n)
    {
        if (directories.Of(n.ThreadId) is not { } directory)
        {
            return n.Continue();
        }

        // getcwd(2) returns the length written, its NUL included; ERANGE when it does not fit.
        var bytes = Encoding.UTF8.GetBytes(directory + "\0");
        if ((ulong)bytes.Length > n.Arg(1))
        {
            return n.Fail(Errno.ERANGE);
        }

        if (!n.IsValid())
        {
            return n.Continue();
        }

        return n.Write(n.Arg(0), bytes) ? n.Return(bytes.Length) : n.Fail(Errno.EFAULT);
    }
}
