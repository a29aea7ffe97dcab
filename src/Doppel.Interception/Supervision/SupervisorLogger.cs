using Microsoft.Extensions.Logging;

namespace Doppel.Interception.Supervision;

internal static partial class SupervisorLogger
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Listener closed: no process is left under the filter")]
    public static partial void ListenerClosed(this ILogger logger);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Handling syscall {Nr} of thread {ThreadId} failed; it continues locally")]
    public static partial void HandlerFailed(this ILogger logger, int nr, int threadId, Exception exception);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Receiving a notification failed with errno {Errno}; the supervisor stops")]
    public static partial void ReceiveFailed(this ILogger logger, int errno);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "connect of thread {ThreadId} to {Destination} redirected to {Endpoint}: result {Result}")]
    public static partial void ConnectRedirected(this ILogger logger, int threadId, System.Net.IPEndPoint destination, System.Net.IPEndPoint endpoint, int result);

    [LoggerMessage(EventId = 5, Level = LogLevel.Debug, Message = "{Path} served from the remote as {CachePath}")]
    public static partial void FileServed(this ILogger logger, string path, string cachePath);
}
