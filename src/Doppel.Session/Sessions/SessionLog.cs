using System.Net;
using Microsoft.Extensions.Logging;

namespace Doppel.Session.Sessions;

/// <summary>The session's start-up log messages (event ids 100–119).</summary>
internal static partial class SessionLog
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Debug, Message = "connected to the agent at {Address} (agent {AgentVersion}, protocol {Version})")]
    public static partial void Connected(ILogger logger, string address, string agentVersion, uint version);

    [LoggerMessage(EventId = 101, Level = LogLevel.Debug, Message = "filter name {Name} resolves {Side} to {Addresses}")]
    public static partial void FilterNameResolved(ILogger logger, string name, string side, string addresses);

    /// <summary>Logs a filter name's addresses; the list is formatted only when debug is on.</summary>
    public static void FilterNameResolved(ILogger logger, string name, bool locally, IReadOnlySet<IPAddress> addresses)
    {
        if (logger.IsEnabled(LogLevel.Debug))
        {
            FilterNameResolved(logger, name, locally ? "locally" : "remotely", string.Join(", ", addresses));
        }
    }
}
