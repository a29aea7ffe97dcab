using System.Collections.Concurrent;

namespace Doppel.Session.Incoming;

/// <summary>What the agent handed this session, per target port, for the <c>-v</c> summary at exit.</summary>
internal sealed class IncomingCounts
{
    private readonly ConcurrentDictionary<(int Port, bool Mirror), Counter> _byPort = new();
    private long _failed;

    /// <summary>Deliveries that failed (the agent answered 502 or reset the client).</summary>
    public long FailedCount => Interlocked.Read(ref _failed);

    public void Add(int port, bool mirror, bool http)
    {
        var counter = _byPort.GetOrAdd((port, mirror), _ => new Counter());
        Interlocked.Increment(ref http ? ref counter.Requests : ref counter.Connections);
    }

    public void Failed() => Interlocked.Increment(ref _failed);

    /// <summary>
    /// One line per port, sorted: <c>steal :80: 12 requests, 1 connection</c>; then the failed
    /// deliveries when there were any. Empty when nothing came.
    /// </summary>
    public IReadOnlyList<string> Lines()
    {
        var lines = _byPort
            .OrderBy(p => p.Key.Port).ThenBy(p => p.Key.Mirror)
            .Select(p => $"{(p.Key.Mirror ? "mirror" : "steal")} :{p.Key.Port}: {Plural(p.Value.Requests, "request")}, {Plural(p.Value.Connections, "connection")}")
            .ToList();
        if (FailedCount > 0)
        {
            lines.Add($"{Plural(FailedCount, "delivery")} to the local app failed (the client got 502 or a reset)");
        }

        return lines;
    }

    private static string Plural(long n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {(noun.EndsWith('y') ? noun[..^1] + "ies" : noun + "s")}";

    private sealed class Counter
    {
        public long Requests;
        public long Connections;
    }
}
