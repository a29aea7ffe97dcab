namespace Doppel.Interception.Files;

/// <summary>
/// What a traced thread's fd is open on: the target of <c>/proc/TID/fd/FD</c> (proc(5); for a
/// file removed since, the kernel appends <c>" (deleted)"</c>, which puts it outside the cache tree).
/// </summary>
internal static class FdLinks
{
    /// <summary>The fd's link target; null for a negative fd, one that is not open (EBADF) or a thread that has gone: the kernel then answers the call.</summary>
    public static string? Target(int threadId, int fd)
    {
        if (fd < 0)
        {
            return null;
        }

        try
        {
            return new FileInfo($"/proc/{threadId}/fd/{fd}").LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The pod path whose local copy the fd is open on; null when it is not in the cache tree (or not an fd, see <see cref="Target"/>).</summary>
    public static string? PodPath(IFileSync files, int threadId, int fd) => Target(threadId, fd) is { } target ? files.RemotePathOf(target) : null;
}
