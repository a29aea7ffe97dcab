using System.Net;
using Microsoft.Extensions.Logging;

namespace Doppel.Session.Forwarding;

/// <summary>The port-forward's log messages (event ids 1300–1399).</summary>
internal static partial class ForwardLog
{
    [LoggerMessage(EventId = 1300, Level = LogLevel.Debug, Message = "Accepted {Peer} on {Forward}")]
    public static partial void Accepted(ILogger logger, EndPoint? peer, string forward);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Debug, Message = "{Forward}: {Reason} (said already)")]
    public static partial void FailedAgain(ILogger logger, string forward, string reason);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Debug, Message = "Listener of {Forward} ended: {Reason}")]
    public static partial void ListenerEnded(ILogger logger, string forward, string reason);

    [LoggerMessage(EventId = 1303, Level = LogLevel.Debug, Message = "Agent ping failed: {Reason}")]
    public static partial void PingFailed(ILogger logger, string reason);
}
