namespace Doppel.Protocol;

/// <summary>
/// Optional capabilities named in <c>HelloRequest.features</c> / <c>HelloResponse.features</c>.
/// A client uses a feature only when the agent listed it; names are never reused with another
/// meaning. New calls and fields within a version are announced here rather than by a version bump.
/// </summary>
public static class ProtocolFeatures
{
    /// <summary><c>EnvironmentService</c>: the target's environment.</summary>
    public const string Environment = "env";

    /// <summary><c>FileService</c> read calls: Stat, ListDirectory, Readlink, ReadFile.</summary>
    public const string FilesRead = "files.read";

    /// <summary><c>FileService</c> write calls: WriteFile, Mkdir, Unlink, Rmdir, Rename, Truncate.</summary>
    public const string FilesWrite = "files.write";

    /// <summary><c>DnsService.Lookup</c> through the target's resolver.</summary>
    public const string Dns = "dns";

    /// <summary><c>HostnameService</c>.</summary>
    public const string Hostname = "hostname";

    /// <summary><c>OutgoingService.ConnectTcp</c>.</summary>
    public const string OutgoingTcp = "outgoing.tcp";

    /// <summary><c>OutgoingService.OpenUdp</c>.</summary>
    public const string OutgoingUdp = "outgoing.udp";

    /// <summary><c>IncomingService</c>: Subscribe (steal whole ports or filtered HTTP requests) and Serve; not for targetless agents.</summary>
    public const string Incoming = "incoming";

    /// <summary><c>AgentService.Status</c>: the agent's sessions and their subscriptions (and the <c>doppel-session-id</c> metadata is honoured).</summary>
    public const string Status = "status";

    /// <summary><c>FileService</c> Lock and ReleaseLocks, and <c>WriteFileOpen.in_place</c>: locks on pod files taken in the pod.</summary>
    public const string FilesLocks = "files.locks";

    /// <summary><c>FileService</c> Symlink and Link: <c>ln -s</c> and <c>ln</c> of pod paths made in the pod (write mode).</summary>
    public const string FilesLinks = "files.links";

    /// <summary><c>WriteFileOpen.stat_existing</c> and <c>no_follow</c>: open(O_CREAT) of a pod file in one call that answers the parent's errno and the file's stat.</summary>
    public const string FilesCreateStat = "files.create-stat";

    /// <summary><c>WriteFileOpen.final_mode</c> and <c>final_mtime</c>: a write-back's mode and mtime set by the WriteFile call itself, no SetAttributes after it.</summary>
    public const string FilesWriteAttributes = "files.write-attributes";

    /// <summary><c>LockResponse.stat</c>: a granted lock answers the file's stat, so the refresh at the lock needs no Stat call.</summary>
    public const string FilesLockStat = "files.lock-stat";

    /// <summary>
    /// <c>WriteFileRequest.seek</c>, <c>WriteFileOpen.append</c> and <c>final_length</c>: an in-place
    /// write-back of only the changed ranges (or an O_APPEND write of the appended bytes), so pod
    /// processes keep the file's inode and their own writes to it.
    /// </summary>
    public const string FilesWriteRanges = "files.write-ranges";

    /// <summary>Every feature this build implements.</summary>
    public static IReadOnlyList<string> All { get; } =
        [Environment, FilesRead, FilesWrite, Dns, Hostname, OutgoingTcp, OutgoingUdp, Incoming, Status, FilesLocks, FilesLinks, FilesCreateStat, FilesWriteAttributes, FilesLockStat, FilesWriteRanges];
}
