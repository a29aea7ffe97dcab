using Microsoft.Extensions.Logging;

namespace Doppel.Cli.Running;

/// <summary>The cluster transport's log messages (event ids 70–79).</summary>
internal static partial class PortForwardTransportLog
{
    [LoggerMessage(EventId = 70, Level = LogLevel.Information, Message = "{Lost}; placing a new agent")]
    public static partial void Replacing(ILogger logger, string lost);
}
