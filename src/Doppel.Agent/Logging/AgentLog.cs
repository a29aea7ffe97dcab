using System.Net;
using Microsoft.Extensions.Logging;

namespace Doppel.Agent.Logging;

/// <summary>
/// The agent's log messages. Info is for what an operator of a long-lived agent wants to see
/// (it leaves); debug says what each session asks for (a connect, a file read, a lookup).
/// </summary>
internal static partial class AgentLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "no session for {Seconds} s (at least 20 s after a session dropped without saying it ends): exiting")]
    public static partial void IdleExit(ILogger logger, double seconds);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "session '{Session}' (doppel {ClientVersion}) speaks protocol {Version}")]
    public static partial void Hello(ILogger logger, string session, string clientVersion, uint version);

    [LoggerMessage(EventId = 10, Level = LogLevel.Debug, Message = "outgoing TCP: connecting to {Destination}")]
    public static partial void TcpConnecting(ILogger logger, IPEndPoint destination);

    [LoggerMessage(EventId = 11, Level = LogLevel.Debug, Message = "outgoing TCP: connected to {Destination} from {Local}")]
    public static partial void TcpConnected(ILogger logger, IPEndPoint destination, EndPoint? local);

    [LoggerMessage(EventId = 12, Level = LogLevel.Debug, Message = "outgoing TCP: connect to {Destination} failed: {Errno} {Message}")]
    public static partial void TcpConnectFailed(ILogger logger, IPEndPoint destination, int errno, string message);

    [LoggerMessage(EventId = 13, Level = LogLevel.Debug, Message = "outgoing UDP: flow opened to {Destination}")]
    public static partial void UdpOpened(ILogger logger, string destination);

    [LoggerMessage(EventId = 20, Level = LogLevel.Debug, Message = "file: reading {Path}")]
    public static partial void FileRead(ILogger logger, string path);

    [LoggerMessage(EventId = 22, Level = LogLevel.Trace, Message = "file: stat {Path}")]
    public static partial void FileStat(ILogger logger, string path);

    [LoggerMessage(EventId = 23, Level = LogLevel.Debug, Message = "file: wrote {Bytes} bytes to {Path} ({How}): errno {Errno}")]
    public static partial void FileWritten(ILogger logger, string path, ulong bytes, string how, int errno);

    /// <summary>mkdir, unlink, rmdir, truncate, setattr: the call, its path and its errno (0: done).</summary>
    [LoggerMessage(EventId = 24, Level = LogLevel.Debug, Message = "file: {Call} {Path}: errno {Errno}")]
    public static partial void FileChanged(ILogger logger, string call, string path, int errno);

    /// <summary>A Lock call: the path, the owner, the type (0 read, 1 write, 2 unlock), the range and the errno (0: done).</summary>
    [LoggerMessage(EventId = 51, Level = LogLevel.Debug, Message = "file: lock {Path} for {Owner}: type {Type} at {Start}+{Length}: errno {Errno}")]
    public static partial void FileLocked(ILogger logger, string path, string owner, uint type, long start, long length, int errno);

    [LoggerMessage(EventId = 25, Level = LogLevel.Debug, Message = "file: rename {From} to {To}: errno {Errno}")]
    public static partial void FileRenamed(ILogger logger, string from, string to, int errno);

    /// <summary>A Symlink or Link call: the call ("symlink", "link", "link -L"), the existing side (a symlink's target), the new name and the errno (0: done).</summary>
    [LoggerMessage(EventId = 29, Level = LogLevel.Debug, Message = "file: {Call} {From} to {To}: errno {Errno}")]
    public static partial void FileLinked(ILogger logger, string call, string from, string to, int errno);

    [LoggerMessage(EventId = 30, Level = LogLevel.Debug, Message = "dns: lookup {Name}")]
    public static partial void DnsLookup(ILogger logger, string name);

    [LoggerMessage(EventId = 40, Level = LogLevel.Information, Message = "incoming: redirect table {Table} to listener port {ListenerPort} ({Mode})")]
    public static partial void RedirectCreated(ILogger logger, string table, int listenerPort, Incoming.RedirectMode mode);

    [LoggerMessage(EventId = 41, Level = LogLevel.Warning, Message = "incoming: the kernel refused an owner table, using a lease instead: {Reason}")]
    public static partial void OwnerTableRefused(ILogger logger, string reason);

    [LoggerMessage(EventId = 42, Level = LogLevel.Information, Message = "incoming: removed the stale table {Table} of a dead agent")]
    public static partial void StaleTableRemoved(ILogger logger, string table);

    [LoggerMessage(EventId = 43, Level = LogLevel.Warning, Message = "incoming: the stale table {Table} could not be removed: {Reason}")]
    public static partial void StaleTableKept(ILogger logger, string table, string reason);

    [LoggerMessage(EventId = 44, Level = LogLevel.Warning, Message = "incoming: renewing the lease of {Table} failed: {Reason}")]
    public static partial void LeaseRenewalFailed(ILogger logger, string table, string reason);

    [LoggerMessage(EventId = 45, Level = LogLevel.Warning, Message = "incoming: deleting the redirect table {Table} failed: {Reason}")]
    public static partial void TableDeleteFailed(ILogger logger, string table, string reason);

    [LoggerMessage(EventId = 50, Level = LogLevel.Information, Message = "incoming: mirror copies for '{Session}' on port {Port} are being dropped: its queue of {Capacity} bytes is full (the session or its app does not keep up)")]
    public static partial void MirrorDropping(ILogger logger, string session, int port, long capacity);

    [LoggerMessage(EventId = 46, Level = LogLevel.Information, Message = "incoming: port {Port} redirected; {Flushed} connection(s) established before the redirect ended (flush_connections), {Failed} could not be")]
    public static partial void ConnectionsFlushed(ILogger logger, int port, int flushed, int failed);

    [LoggerMessage(EventId = 47, Level = LogLevel.Warning, Message = "incoming: the connections to port {Port} could not be listed for flush_connections: {Reason}")]
    public static partial void FlushFailed(ILogger logger, int port, string reason);
}
