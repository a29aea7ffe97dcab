namespace Doppel.Agent.Incoming;

/// <summary>
/// The mirror subscriptions of one port when a connection or request arrives: <paramref name="Whole"/>
/// (unfiltered: a copy of every connection's client-to-app bytes) and <paramref name="Filtered"/>
/// (a copy of each HTTP request whose filter matches; null when none), with each session's queue.
/// </summary>
/// <param name="Whole">The queues of the sessions that mirror the port whole.</param>
/// <param name="Filtered">The filtered mirror subscriptions (by session id), or null.</param>
/// <param name="QueueOf">A session's queue by its id; null once the session has ended.</param>
internal sealed record PortMirrors(IReadOnlyList<MirrorQueue> Whole, PortSubscriptions? Filtered, Func<string, MirrorQueue?> QueueOf);
