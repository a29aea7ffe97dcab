using Microsoft.Extensions.Logging;

namespace Doppel.Cli.Running;

/// <summary>The cluster agents' log messages (<see cref="ClusterAgents"/>; event ids 60–69).</summary>
internal static partial class ClusterAgentsLog
{
    [LoggerMessage(EventId = 60, Level = LogLevel.Information, Message = "deleted {Count} agent Jobs in {Namespace} whose agent had ended")]
    public static partial void Swept(ILogger logger, int count, string @namespace);

    [LoggerMessage(EventId = 61, Level = LogLevel.Debug, Message = "the ended agent Jobs in {Namespace} were not swept: {Reason}")]
    public static partial void NotSwept(ILogger logger, string @namespace, string reason);

    [LoggerMessage(EventId = 62, Level = LogLevel.Debug, Message = "the agent {Namespace}/{Name} could not be asked for its sessions ({Reason}); it is left")]
    public static partial void NotAsked(ILogger logger, string @namespace, string name, string reason);
}
