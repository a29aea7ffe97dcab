using System.Net;
using Microsoft.Extensions.Logging;

namespace Doppel.Interception.Network;

/// <summary>Log events of remote TCP connects (event ids 20–29).</summary>
internal static partial class ConnectLogger
{
    [LoggerMessage(EventId = 20, Level = LogLevel.Debug, Message = "connect of thread {ThreadId} to {Destination}: EINPROGRESS while the agent connects")]
    public static partial void ConnectPending(this ILogger logger, int threadId, IPEndPoint destination);

    [LoggerMessage(EventId = 21, Level = LogLevel.Debug, Message = "connect to {Destination} moved to its stand-in {StandIn}: result {Result}")]
    public static partial void ConnectSwitched(this ILogger logger, IPEndPoint destination, IPEndPoint standIn, int result);

    [LoggerMessage(EventId = 22, Level = LogLevel.Debug, Message = "connect to {Destination} failed in the pod with errno {Errno}")]
    public static partial void ConnectFailed(this ILogger logger, IPEndPoint destination, int errno);

    [LoggerMessage(EventId = 23, Level = LogLevel.Debug, Message = "thread {ThreadId} told errno {Errno} of its connect to {Destination}")]
    public static partial void ConnectFailureReported(this ILogger logger, int threadId, IPEndPoint destination, int errno);

    [LoggerMessage(EventId = 24, Level = LogLevel.Debug, Message = "connect to {Destination} abandoned: the app closed its socket")]
    public static partial void ConnectAbandoned(this ILogger logger, IPEndPoint destination);
}
