using Microsoft.Extensions.Logging;

namespace Doppel.Cli.Running;

/// <summary>The local agent's log messages (event ids 30–39).</summary>
internal static partial class LocalAgentLog
{
    [LoggerMessage(EventId = 30, Level = LogLevel.Debug, Message = "starting {Agent} {Arguments}")]
    private static partial void Starting(ILogger logger, string agent, string arguments);

    [LoggerMessage(EventId = 31, Level = LogLevel.Debug, Message = "agent: {Line}")]
    public static partial void AgentOutput(ILogger logger, string line);

    [LoggerMessage(EventId = 32, Level = LogLevel.Debug, Message = "could not remove {Directory}: {Reason}")]
    public static partial void DirectoryNotRemoved(ILogger logger, string directory, string reason);

    [LoggerMessage(EventId = 33, Level = LogLevel.Debug, Message = "reading the agent's {Stream} failed: {Reason}")]
    public static partial void ReadFailed(ILogger logger, string stream, string reason);

    [LoggerMessage(EventId = 34, Level = LogLevel.Warning, Message = "the shared agent (pid {Pid}) could not be stopped: {Reason}; it exits by itself agent.ttl after its last session")]
    public static partial void JoinedAgentNotStopped(ILogger logger, int pid, string reason);

    public static void Starting(ILogger logger, string agent, IReadOnlyList<string> arguments)
    {
        if (logger.IsEnabled(LogLevel.Debug))
        {
            Starting(logger, agent, string.Join(' ', arguments));
        }
    }
}
