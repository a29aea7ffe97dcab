using Microsoft.Extensions.Logging;

namespace Doppel.Kubernetes.PortForward;

/// <summary>What <see cref="PodPortForward"/> logs (event ids 7xx).</summary>
internal static partial class PortForwardLog
{
    [LoggerMessage(EventId = 701, Level = LogLevel.Debug, Message = "port-forward to {Address}: connecting")]
    public static partial void Connecting(ILogger logger, string address);

    [LoggerMessage(EventId = 702, Level = LogLevel.Debug, Message = "port-forward to {Address}: connected")]
    public static partial void Connected(ILogger logger, string address);

    [LoggerMessage(EventId = 703, Level = LogLevel.Debug, Message = "port-forward to {Address}: {Reason}")]
    public static partial void ConnectFailed(ILogger logger, string address, string reason);
}
