using Doppel.Agent.Targets;
using Doppel.Linux.Native;
using Doppel.Linux.Processes;
using Microsoft.Win32.SafeHandles;

namespace Doppel.Agent.Files;

/// <summary>
/// The only files a targetless agent serves, read-only: <c>/etc/resolv.conf</c> and
/// <c>/etc/hosts</c>, taken from <c>/etc/netns/NAME/</c> when the namespace has its own (the
/// <c>ip netns exec</c> convention), else from the agent's <c>/etc</c>. They let a session point an
/// app's resolver at the namespace's DNS. Everything else is ENOENT; writes to the two are EROFS.
/// </summary>
internal static class TargetlessFiles
{
    private static readonly string[] s_served = ["/etc/resolv.conf", "/etc/hosts"];

    /// <summary>Where the agent reads <paramref name="podPath"/> (<c>/etc/resolv.conf</c>, <c>/etc/hosts</c>, <c>/etc/hostname</c>); null when no such file applies.</summary>
    public static string? HostPath(Target target, string podPath)
    {
        var name = podPath["/etc/".Length..];
        if (target.NetworkNamespaceName is { } ns)
        {
            var own = $"/etc/netns/{ns}/{name}";
            if (File.Exists(own))
            {
                return own;
            }
        }

        return podPath == "/etc/hostname" ? null : podPath;
    }

    /// <summary>Opens one of the served files; null with ENOENT for any other path, EROFS for a write.</summary>
    public static SafeFileHandle? Open(Target target, string path, int flags, out int errno)
    {
        var served = Served(path);
        if (served is null)
        {
            errno = Errno.ENOENT;
            return null;
        }

        if ((flags & (OpenFlags.AccessModeMask | OpenFlags.Create | OpenFlags.Truncate | OpenFlags.Append)) != 0)
        {
            errno = Errno.EROFS;
            return null;
        }

        // Followed even for lstat: a host's resolv.conf is often a symlink the session could not follow.
        return FileCalls.Open(HostPath(target, served)!, flags & ~OpenFlags.NoFollow, 0, out errno);
    }

    /// <summary>EROFS for an entry that is one of the served files, ENOENT for any other (no directory is served).</summary>
    public static int EntryError(string path) => Served(path) is null ? Errno.ENOENT : Errno.EROFS;

    /// <summary>The served path that <paramref name="path"/> names after removing ".", ".." and repeated slashes; null for any other.</summary>
    private static string? Served(string path)
    {
        var parts = new List<string>();
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }
            }
            else if (part != ".")
            {
                parts.Add(part);
            }
        }

        var normal = "/" + string.Join('/', parts);
        return Array.IndexOf(s_served, normal) >= 0 && !path.EndsWith('/') ? normal : null;
    }
}
