namespace Doppel.Agent.Incoming;

/// <summary>
/// One session's filtered subscription of a port. <see cref="Order"/> is the position in
/// subscription order on that port (earlier subscriptions have smaller numbers); it identifies
/// the subscription for overlap notices.
/// </summary>
internal sealed record FilterSubscription(long Order, string SessionId, HttpFilterMatcher Filter);
