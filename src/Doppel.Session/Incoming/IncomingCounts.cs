using System.Collections.Concurrent;

namespace Doppel.Session.Incoming;

/// <summary>What the agent handed this session, per target port, for the <c>-v</c> summary at exit.</summary>
internal sealed class IncomingCounts
{
    private readonly ConcurrentDictionary<(int Port, bool Mirror), Counter> _byPort = new();
    private readonly ConcurrentDictionary<int, (long Copies, long Bytes)> _mirrorDropped = new();
    private long _failed;

    /// <summary>Deliveries that failed (the agent answered 502 or reset the client).</summary>
    public long FailedCount => Interlocked.Read(ref _failed);

    public void Add(int port, bool mirror, bool http)
    {
        var counter = _byPort.GetOrAdd((port, mirror), _ => new Counter());
        Interlocked.Increment(ref http ? ref counter.Requests : ref counter.Connections);
    }

    public void Failed() => Interlocked.Increment(ref _failed);

    /// <summary>The agent's running totals of the port's dropped mirror copies (mirror_dropped); true for the port's first report.</summary>
    public bool MirrorDropped(int port, long copies, long bytes)
    {
        var first = true;
        _mirrorDropped.AddOrUpdate(
            port,
            (copies, bytes),
            (_, seen) =>
            {
                first = false;
                return (Math.Max(seen.Copies, copies), Math.Max(seen.Bytes, bytes));
            });
        return first;
    }

    /// <summary>The port's dropped mirror copies and their bytes, as last reported (0, 0 when none).</summary>
    public (long Copies, long Bytes) MirrorDroppedOf(int port) => _mirrorDropped.GetValueOrDefault(port);

    /// <summary>
    /// One line per port, sorted: <c>steal :80: 12 requests, 1 connection</c>; a mirrored port
    /// whose copies were dropped: <c>mirror :80: 3 copies dropped (65536 bytes)</c>; then the failed
    /// deliveries when there were any. Empty when nothing came.
    /// </summary>
    public IReadOnlyList<string> Lines()
    {
        var lines = _byPort
            .OrderBy(p => p.Key.Port).ThenBy(p => p.Key.Mirror)
            .Select(p => $"{(p.Key.Mirror ? "mirror" : "steal")} :{p.Key.Port}: {Plural(p.Value.Requests, "request")}, {Plural(p.Value.Connections, "connection")}")
            .ToList();
        lines.AddRange(_mirrorDropped.OrderBy(p => p.Key).Select(p => $"mirror :{p.Key}: {Plural(p.Value.Copies, "copy")} dropped ({Plural(p.Value.Bytes, "byte")})"));
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
