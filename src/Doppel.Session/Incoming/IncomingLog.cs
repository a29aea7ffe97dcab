using System.Net;
using Microsoft.Extensions.Logging;

namespace Doppel.Session.Incoming;

/// <summary>Incoming traffic's log messages: subscriptions, Serve calls, deliveries (event ids 400–429).</summary>
internal static partial class IncomingLog
{
    [LoggerMessage(EventId = 400, Level = LogLevel.Debug, Message = "incoming: subscribing {Port}")]
    public static partial void Subscribing(ILogger logger, string port);

    [LoggerMessage(EventId = 401, Level = LogLevel.Debug, Message = "incoming: listener {Local} (asked for port {Requested}) is left alone by the configuration")]
    public static partial void ListenerIgnored(ILogger logger, IPEndPoint local, int requested);

    [LoggerMessage(EventId = 402, Level = LogLevel.Debug, Message = "incoming: the Subscribe call ended: {Reason}")]
    public static partial void SubscribeEnded(ILogger logger, string reason);

    [LoggerMessage(EventId = 403, Level = LogLevel.Debug, Message = "incoming: a Serve call ended: {Reason}")]
    public static partial void ServeEnded(ILogger logger, string reason);

    [LoggerMessage(EventId = 404, Level = LogLevel.Information, Message = "incoming: request {Id} ({Method} {Target}) could not be delivered to {App}: {Reason}")]
    public static partial void DeliveryFailed(ILogger logger, ulong id, string method, string target, IPEndPoint app, string reason);

    [LoggerMessage(EventId = 405, Level = LogLevel.Information, Message = "incoming: connection {Id} could not be delivered to {App}: {Reason}")]
    public static partial void TcpDeliveryFailed(ILogger logger, ulong id, IPEndPoint app, string reason);

    [LoggerMessage(EventId = 406, Level = LogLevel.Debug, Message = "incoming: {What}: {Side} side ended: {Reason}")]
    public static partial void RelaySideEnded(ILogger logger, string what, string side, string reason);

    [LoggerMessage(EventId = 407, Level = LogLevel.Warning, Message = "incoming: the agent sent {Message} where new work must start")]
    public static partial void UnexpectedWork(ILogger logger, string message);

    [LoggerMessage(EventId = 408, Level = LogLevel.Information, Message = "incoming: the agent does not mirror port {Port}: {Reason}")]
    public static partial void MirrorUnsupported(ILogger logger, int port, string reason);

    [LoggerMessage(EventId = 409, Level = LogLevel.Information, Message = "incoming: the local app at {App} does not speak HTTP/2 over cleartext (h2c); its HTTP/2 clients' requests reach it over HTTP/1.1")]
    public static partial void H2cRefused(ILogger logger, IPEndPoint app);

    [LoggerMessage(EventId = 410, Level = LogLevel.Information, Message = "incoming: the local app at {App} speaks only HTTP/2 over cleartext (h2c); its HTTP/1.x clients' requests reach it over HTTP/2")]
    public static partial void H2cOnly(ILogger logger, IPEndPoint app);

    [LoggerMessage(EventId = 420, Level = LogLevel.Warning, Message = "incoming: the listener watch stopped (closed listeners stay subscribed until the session ends): {Reason}")]
    public static partial void ListenerWatchFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 421, Level = LogLevel.Information, Message = "incoming: the agent is back; subscribing {Count} port(s) again")]
    public static partial void Resubscribing(ILogger logger, int count);

    [LoggerMessage(EventId = 422, Level = LogLevel.Information, Message = "incoming: replica {Name}: {Line}")]
    public static partial void ReplicaLine(ILogger logger, string name, string line);

    [LoggerMessage(EventId = 423, Level = LogLevel.Information, Message = "incoming: the agent at {Address} did not confirm the unsubscriptions within 5 s; its connection is closed")]
    public static partial void ReplicaEndSlow(ILogger logger, string address);

    [LoggerMessage(EventId = 424, Level = LogLevel.Debug, Message = "{Line} (said less than 30 s ago)")]
    public static partial void SaidAlready(ILogger logger, string line);

    [LoggerMessage(EventId = 425, Level = LogLevel.Information, Message = "{Line} (not shown: part of an outage already said)")]
    public static partial void OutageLine(ILogger logger, string line);
}
