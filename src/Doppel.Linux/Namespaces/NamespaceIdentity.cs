namespace Doppel.Linux.Namespaces;

/// <summary>
/// Whether a namespace file names the namespace the calling thread is in already. A
/// <c>/proc/PID/ns/TYPE</c> link reads <c>TYPE:[INODE]</c> (proc(5), "/proc/pid/ns/"), and two
/// links with the same text are the same namespace, so no setns(2) is needed to be in it — which
/// matters where setns is not allowed: an agent in an ephemeral container shares the target pod's
/// network and UTS namespaces but, before Kubernetes 1.22, gets no CAP_SYS_ADMIN.
/// </summary>
public static class NamespaceIdentity
{
    /// <summary>
    /// True when <paramref name="namespacePath"/> (<c>/proc/PID/ns/net</c>, …) is a namespace link
    /// with the same identity as the calling thread's namespace of type <paramref name="type"/>
    /// (<c>net</c>, <c>uts</c>, …); false when it differs or cannot be read as a link (a bind-mounted
    /// <c>/run/netns/NAME</c>, a process that is gone) — the caller then joins it as before.
    /// </summary>
    public static bool IsCurrent(string namespacePath, string type)
    {
        ArgumentNullException.ThrowIfNull(namespacePath);
        ArgumentNullException.ThrowIfNull(type);
        return LinkText(namespacePath) is { } target && target == LinkText($"/proc/thread-self/ns/{type}");
    }

    private static string? LinkText(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget; // the link's own text, "net:[4026531833]"
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
