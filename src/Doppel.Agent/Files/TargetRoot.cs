using Doppel.Agent.Targets;
using Doppel.Linux.Files;
using Doppel.Linux.Native;
using Microsoft.Win32.SafeHandles;

namespace Doppel.Agent.Files;

/// <summary>
/// The target's file system, reached through a directory fd on /proc/PID/root. Every path is
/// resolved by openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), so "..", absolute or relative
/// symlinks and /proc magic links cannot leave the container's root:
///
///   "/app/../../etc/passwd" ──openat2 IN_ROOT──▶ &lt;root&gt;/etc/passwd (the container's)
///   link → "/etc/shadow"     ──openat2 IN_ROOT──▶ &lt;root&gt;/etc/shadow (the container's)
///
/// (Mount namespaces cannot be joined from a multi-threaded .NET process, DESIGN.md "Agent".)
/// A targetless agent has no root: it serves only <see cref="TargetlessFiles"/>.
/// </summary>
internal sealed class TargetRoot(Target target) : IDisposable
{
    private readonly Lock _lock = new();
    private SafeFileHandle? _root;

    /// <summary>Opens a path inside the root; the handle, or null with the errno.</summary>
    public SafeFileHandle? Open(string path, int flags, out int errno, int mode = 0)
    {
        if (target.IsTargetless)
        {
            return TargetlessFiles.Open(target, path, flags, out errno);
        }

        var root = Root(out errno);
        return root is null ? null : RootedFiles.OpenInRoot(root, path, flags, mode, out errno);
    }

    /// <summary>
    /// Opens the parent directory of <paramref name="path"/> inside the root and returns the
    /// last name (never "." or ".."), for calls that act on a directory entry itself.
    /// </summary>
    public SafeFileHandle? OpenParent(string path, out string name, out int errno)
    {
        var trimmed = path.TrimEnd('/');
        var slash = trimmed.LastIndexOf('/');
        name = slash < 0 ? trimmed : trimmed[(slash + 1)..];
        if (name is "" or "." or "..")
        {
            errno = Errno.EINVAL;
            return null;
        }

        if (target.IsTargetless)
        {
            errno = TargetlessFiles.EntryError(path);
            return null;
        }

        var parent = slash <= 0 ? "/" : trimmed[..slash];
        return Open(parent, OpenFlags.Path | OpenFlags.Directory, out errno);
    }

    public void Dispose() => _root?.Dispose();

    private SafeFileHandle? Root(out int errno)
    {
        lock (_lock)
        {
            if (_root is null)
            {
                _root = Linux.Processes.FileCalls.Open(target.RootPath, OpenFlags.Path | OpenFlags.Directory, 0, out errno);
                return _root;
            }

            errno = 0;
            return _root;
        }
    }
}
