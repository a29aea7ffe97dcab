using Microsoft.Extensions.Logging;

namespace Doppel.Cli.Logging;

/// <summary>
/// The log level: <c>-v</c> (debug), else <c>DOPPEL_LOG</c>, else <c>RUST_LOG</c> (what mirrord users
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

    public static LogLevel? Parse(string? directives)
    {
        if (string.IsNullOrWhiteSpace(directives))
        {
            return null;
        }

        LogLevel? best = null;
        foreach (var part in directives.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var word = part.Contains('=', StringComparison.Ordinal) ? part[(part.IndexOf('=', StringComparison.Ordinal) + 1)..] : part;
            LogLevel? level = word.ToLowerInvariant() switch
            {
                "trace" => LogLevel.Trace,
                "debug" => LogLevel.Debug,
                "info" => LogLevel.Information,
                "warn" or "warning" => LogLevel.Warning,
                "error" => LogLevel.Error,
                "off" or "none" => LogLevel.None,
                _ => null,
            };
            if (level is { } l && (best is null || l < best))
            {
                best = l;
            }
        }

        return best;
    }
}
