using Microsoft.Extensions.Logging;

namespace Doppel.Config.Logging;

/// <summary>
/// The one parser of log levels, for doppel's own and the agent's (<c>-l</c>, <c>agent.log_level</c>): <c>-v</c> (debug), else <c>DOPPEL_LOG</c>, else <c>RUST_LOG</c> (what mirrord users
/// type). Both take a level word or RUST_LOG directives such as <c>warn,doppel=debug</c>; the most
/// detailed level named wins. Default: warnings.
/// </summary>
public static class LogLevels
{
    public static LogLevel Resolve(bool verbose, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (verbose)
        {
            return LogLevel.Debug;
        }

        return Parse(environment("DOPPEL_LOG")) ?? Parse(environment("RUST_LOG")) ?? LogLevel.Warning;
    }

    /// <summary>The level words <see cref="Parse"/> knows, as the warning about an unknown one lists them.</summary>
    public const string ValidLevels = "trace, debug, info, warn, error or off";

    /// <summary>The most detailed level that <paramref name="directives"/> name; null when they name none.</summary>
    public static LogLevel? Parse(string? directives)
    {
        LogLevel? best = null;
        foreach (var word in Words(directives))
        {
            if (Level(word) is { } l && (best is null || l < best))
            {
                best = l;
            }
        }

        return best;
    }

    /// <summary>
    /// <c>agent.log_level</c> (a level or RUST_LOG-style directives, <see cref="Parse"/>: the most
    /// detailed level named wins) as the agent's <c>--log-level</c> word; info when none is named.
    /// </summary>
    public static string AgentWord(string? configured) => Parse(configured) switch
    {
        LogLevel.Trace => "trace",
        LogLevel.Debug => "debug",
        LogLevel.Warning => "warn",
        LogLevel.Error or LogLevel.Critical => "error",
        LogLevel.None => "off",
        _ => "info",
    };

    /// <summary>The parts of <paramref name="directives"/> (after any <c>TARGET=</c>) that are not level words: a typo to warn about.</summary>
    public static IReadOnlyList<string> UnknownLevels(string? directives) => [.. Words(directives).Where(word => Level(word) is null)];

    private static IEnumerable<string> Words(string? directives) =>
        string.IsNullOrWhiteSpace(directives)
            ? []
            : directives.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(part => part.Contains('=', StringComparison.Ordinal) ? part[(part.IndexOf('=', StringComparison.Ordinal) + 1)..] : part);

    private static LogLevel? Level(string word) => word.ToLowerInvariant() switch
    {
        "trace" => LogLevel.Trace,
        "debug" => LogLevel.Debug,
        "info" => LogLevel.Information,
        "warn" or "warning" => LogLevel.Warning,
        "error" => LogLevel.Error,
        "off" or "none" => LogLevel.None,
        _ => null,
    };
}
