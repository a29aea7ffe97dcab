using System.Collections.Concurrent;

namespace Doppel.Agent.Incoming;

/// <summary>
/// The filtered subscriptions of one port, in subscription order, and the choice of who takes
/// a request: the earliest subscription whose filter matches wins (issue 10 item 5; documented
/// for users in docs/configuration.md). Every filter is evaluated, so later sessions whose filters
/// also matched are known, and each (winner, other) pair is reported once.
/// <code>
///   request ──▶ [alice #1] [bob #2] [carol #3] ──▶ first match wins; other matches → notices
/// </code>
/// Thread-safe: <see cref="Choose"/> reads an immutable snapshot without locking;
/// <see cref="Add"/> and <see cref="Remove"/> replace it under a lock.
/// </summary>
internal sealed class PortSubscriptions
{
    private readonly Lock _writeLock = new();
    private readonly ConcurrentDictionary<(long Winner, long Other), byte> _reportedOverlaps = new();
    private volatile FilterSubscription[] _subscriptions = [];
    private long _nextOrder;

    /// <summary>The subscriptions, earliest first.</summary>
    public IReadOnlyList<FilterSubscription> Subscriptions => _subscriptions;

    /// <summary>True when some filter needs the body: read it ahead (<see cref="RequestBody.BufferAsync"/>) before <see cref="Choose"/>.</summary>
    public bool NeedsBody => Subscriptions.Any(s => s.Filter.NeedsBody);

    /// <summary>Adds a subscription after all existing ones.</summary>
    public FilterSubscription Add(string sessionId, HttpFilterMatcher filter)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        ArgumentNullException.ThrowIfNull(filter);
        lock (_writeLock)
        {
            var subscription = new FilterSubscription(++_nextOrder, sessionId, filter);
            _subscriptions = [.. _subscriptions, subscription];
            return subscription;
        }
    }

    /// <summary>Removes a subscription (and forgets its reported overlaps); false when it was not there.</summary>
    public bool Remove(FilterSubscription subscription)
    {
        lock (_writeLock)
        {
            var before = _subscriptions;
            if (Array.IndexOf(before, subscription) < 0)
            {
                return false;
            }

            _subscriptions = [.. before.Where(s => s != subscription)];
        }

        foreach (var pair in _reportedOverlaps.Keys)
        {
            if (pair.Winner == subscription.Order || pair.Other == subscription.Order)
            {
                _reportedOverlaps.TryRemove(pair, out _);
            }
        }

        return true;
    }

    /// <summary>Removes every subscription of a session (it unsubscribed everything, disconnected or died); returns how many.</summary>
    public int RemoveSession(string sessionId)
    {
        var removed = 0;
        foreach (var subscription in Subscriptions.Where(s => s.SessionId == sessionId))
        {
            removed += Remove(subscription) ? 1 : 0;
        }

        return removed;
    }

    /// <summary>
    /// Chooses the subscription that takes <paramref name="request"/>: the earliest whose filter
    /// matches. <paramref name="body"/> is the read-ahead body when <see cref="NeedsBody"/>, else null.
    /// </summary>
    public RouteChoice Choose(HttpRequestView request, RequestBody? body)
    {
        var subscriptions = _subscriptions;
        FilterSubscription? winner = null;
        List<FilterSubscription>? also = null;
        List<FilterSubscription>? fresh = null;
        foreach (var subscription in subscriptions)
        {
            if (!subscription.Filter.Matches(request, body))
            {
                continue;
            }

            if (winner is null)
            {
                winner = subscription;
                continue;
            }

            if (subscription.SessionId == winner.SessionId)
            {
                continue;
            }

            (also ??= []).Add(subscription);
            if (_reportedOverlaps.TryAdd((winner.Order, subscription.Order), 0))
            {
                (fresh ??= []).Add(subscription);
            }
        }

        return winner is null ? RouteChoice.None : new RouteChoice(winner, also ?? [], fresh ?? []);
    }

    /// <summary>
    /// Every session whose filter matches <paramref name="request"/>, each once, earliest
    /// subscription first (mirror subscriptions: each of them gets a copy; no one wins).
    /// </summary>
    public IReadOnlyList<string> Matching(HttpRequestView request, RequestBody? body)
    {
        List<string>? sessions = null;
        foreach (var subscription in _subscriptions)
        {
            if ((sessions is null || !sessions.Contains(subscription.SessionId, StringComparer.Ordinal)) && subscription.Filter.Matches(request, body))
            {
                (sessions ??= []).Add(subscription.SessionId);
            }
        }

        return sessions ?? (IReadOnlyList<string>)[];
    }
}
