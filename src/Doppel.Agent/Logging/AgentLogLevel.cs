using Microsoft.Extensions.Logging;

namespace Doppel.Agent.Logging;

/// <summary>The <c>--log-level</c> words (mirrord's agent levels): trace, debug, info, warn, error, off.</summary>
internal static class AgentLogLevel
{
    public const string Words = "trace, debug, info, warn, error or off";

    /// <summary>The level for <paramref name="word"/>; null when it is not one of <see cref="Words"/>.</summary>
    public static LogLevel? Parse(string word) => word switch
    {
        "trace" => LogLevel.Trace,
        "debug" => LogLevel.Debug,
        "info" => LogLevel.Information,
        "warn" => LogLevel.Warning,
        "error" => LogLevel.Error,
        "off" => LogLevel.None,
        _ => null,
    };

    /// <summary>The word a line starts with: <c>debug: …</c>.</summary>
    public static string Word(LogLevel level) => level switch
    {
        LogLevel.Trace => "trace",
        LogLevel.Debug => "debug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "error",
        _ => "crit",
    };
}
