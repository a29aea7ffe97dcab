using Microsoft.Extensions.Logging;

namespace Doppel.Cli.Logging;

internal static partial class CliLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Configuration loaded from {File}")]
    public static partial void ConfigurationLoaded(ILogger logger, string file);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "No configuration file; using defaults, environment and flags")]
    public static partial void NoConfigurationFile(ILogger logger);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "Unexpected failure")]
    public static partial void UnexpectedFailure(ILogger logger, Exception exception);
}
