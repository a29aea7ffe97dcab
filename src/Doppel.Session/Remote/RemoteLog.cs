using System.Net;
using Microsoft.Extensions.Logging;

namespace Doppel.Session.Remote;

/// <summary>The remote side's log messages: relays, flows, file calls (event ids 200–239).</summary>
internal static partial class RemoteLog
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Warning, Message = "{What} failed unexpectedly")]
    public static partial void BackgroundTaskFailed(ILogger logger, string what, Exception exception);

    // Debug: the program gets EIO, and a failed write-back is the one error line of WriteBackFailure.
    [LoggerMessage(EventId = 201, Level = LogLevel.Debug, Message = "remote file call on {Path} failed: {Status}: {Detail}")]
    public static partial void FileCallFailed(ILogger logger, string path, Grpc.Core.StatusCode status, string detail);

    [LoggerMessage(EventId = 202, Level = LogLevel.Debug, Message = "app connected from {Source} to {Destination} (relayed)")]
    public static partial void AppConnected(ILogger logger, IPEndPoint source, IPEndPoint destination);

    [LoggerMessage(EventId = 203, Level = LogLevel.Warning, Message = "the stand-in for {Destination} closed a connection from {Peer}: not the app's socket")]
    public static partial void StandInRefused(ILogger logger, IPEndPoint? peer, IPEndPoint destination);

    [LoggerMessage(EventId = 210, Level = LogLevel.Debug, Message = "agent could not connect to {Destination}: {Errno} {Message}")]
    public static partial void AgentConnectFailed(ILogger logger, IPEndPoint destination, int errno, string message);

    [LoggerMessage(EventId = 211, Level = LogLevel.Debug, Message = "outgoing connection to {Destination} abandoned: the app closed its socket or gave up")]
    public static partial void ConnectAbandoned(ILogger logger, IPEndPoint destination);

    [LoggerMessage(EventId = 212, Level = LogLevel.Warning, Message = "outgoing connection to {Destination} through the agent failed: {Reason}")]
    public static partial void ConnectFailed(ILogger logger, IPEndPoint destination, string reason);

    [LoggerMessage(EventId = 213, Level = LogLevel.Debug, Message = "relay to {Destination} ended before the app connected")]
    public static partial void RelayEndedBeforeAccept(ILogger logger, IPEndPoint destination);

    [LoggerMessage(EventId = 214, Level = LogLevel.Debug, Message = "relay to {Destination}: app side ended: {Reason}")]
    public static partial void RelayAppSideEnded(ILogger logger, IPEndPoint destination, string reason);

    [LoggerMessage(EventId = 215, Level = LogLevel.Debug, Message = "relay to {Destination}: the pod side failed: {Errno} {Message}")]
    public static partial void RelayPodSideFailed(ILogger logger, IPEndPoint destination, int errno, string message);

    [LoggerMessage(EventId = 216, Level = LogLevel.Debug, Message = "relay to {Destination}: agent side ended: {Reason}")]
    public static partial void RelayAgentSideEnded(ILogger logger, IPEndPoint destination, string reason);

    [LoggerMessage(EventId = 220, Level = LogLevel.Debug, Message = "UDP flow {Source} → {Destination} failed: {Reason}")]
    public static partial void UdpFlowFailed(ILogger logger, IPEndPoint source, IPEndPoint destination, string reason);

    [LoggerMessage(EventId = 221, Level = LogLevel.Debug, Message = "agent could not open UDP to {Destination}: {Errno} {Message}")]
    public static partial void UdpOpenFailed(ILogger logger, IPEndPoint destination, int errno, string message);

    [LoggerMessage(EventId = 222, Level = LogLevel.Debug, Message = "UDP to {Destination} refused; handed to the app's socket: {Seen}")]
    public static partial void UdpRefused(ILogger logger, IPEndPoint destination, bool seen);

    [LoggerMessage(EventId = 223, Level = LogLevel.Debug, Message = "UDP to {Destination}: {Errno} {Message}")]
    public static partial void UdpError(ILogger logger, IPEndPoint destination, int errno, string message);

    [LoggerMessage(EventId = 224, Level = LogLevel.Debug, Message = "UDP flow {Source} → {Destination} ended: {Reason}")]
    public static partial void UdpFlowEnded(ILogger logger, IPEndPoint source, IPEndPoint destination, string reason);

    [LoggerMessage(EventId = 225, Level = LogLevel.Debug, Message = "UDP flow {Source} → {Destination}: queue full, datagram dropped")]
    public static partial void UdpDatagramDropped(ILogger logger, IPEndPoint source, IPEndPoint destination);

    [LoggerMessage(EventId = 230, Level = LogLevel.Debug, Message = "local DNS query from {Source} failed: {Reason}")]
    public static partial void LocalDnsQueryFailed(ILogger logger, IPEndPoint source, string reason);

    [LoggerMessage(EventId = 231, Level = LogLevel.Debug, Message = "local DNS flow of {Source} ended: {Reason}")]
    public static partial void LocalDnsFlowEnded(ILogger logger, IPEndPoint source, string reason);
}
