using Microsoft.Extensions.Logging;

namespace Doppel.Cli.Logging;

internal static class CliLogging
{
    /// <summary>Logs go to standard error, never stdout (stdout carries results).</summary>
    public static ILoggerFactory Create(LogLevel level) => LoggerFactory.Create(builder => builder
        .SetMinimumLevel(level)
        .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
        .AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        }));
}
