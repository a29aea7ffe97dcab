using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.Channels;
using Doppel.Agent.Logging;
using Doppel.Protocol.V1;
using Microsoft.Extensions.Logging;

namespace Doppel.Agent.Incoming;

/// <summary>
/// One mirroring session's copies in flight (issue 10 item 7): the bytes they hold are bounded by
/// <see cref="Capacity"/>, the copies wait here (first in, first out) for an idle Serve call of
/// the session, and what did not fit is counted per port and reported to the session.
/// <code>
///   original path ──tee (never waits)──► MirrorCopy.Add ──TryReserve──► the copy's messages
///                                            └─ no room: the copy is dropped, counted ──► mirror_dropped (≤ 4/s)
///   dispatch loop: copy ──► idle Serve call of the session (waits as long as the session lives)
///   Serve call: the copy's messages ──► session; Release as each is written
/// </code>
/// A session that does not read, has no idle Serve call or whose app is slow fills the queue;
/// from then on new copies and the rest of cut copies are dropped, and the original path goes on
/// as if there were no mirror. Thread-safe.
/// </summary>
internal sealed class MirrorQueue : IDisposable
{
    /// <summary>The environment variable that sets <see cref="Capacity"/> (bytes, at least 64 KiB), for tests and benchmarks.</summary>
    public const string CapacityVariable = "DOPPEL_AGENT_MIRROR_QUEUE_BYTES";

    /// <summary>Bytes a session's copies may hold at the agent by default: 16 MiB.</summary>
    public const long DefaultCapacity = 16 * 1024 * 1024;

    /// <summary>What a copy's head (request head or tcp_open) counts, whatever its size.</summary>
    public const int HeadCost = 1024;

    private static readonly TimeSpan s_reportDelay = TimeSpan.FromMilliseconds(250);

    private readonly IncomingSession _session;
    private readonly ILogger _logger;
    private readonly Channel<MirrorCopy> _waiting = Channel.CreateUnbounded<MirrorCopy>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<int, Dropped> _dropped = new();
    private readonly Task _dispatching;
    private long _used;
    private int _reportScheduled;

    /// <summary>Starts the session's dispatch loop; <paramref name="capacity"/> in bytes.</summary>
    public MirrorQueue(IncomingSession session, long capacity, ILogger logger)
    {
        _session = session;
        _logger = logger;
        Capacity = capacity;
        _dispatching = Task.Run(DispatchLoopAsync);
    }

    /// <summary>The most bytes the session's copies may hold.</summary>
    public long Capacity { get; }

    /// <summary>The session the copies go to.</summary>
    public IncomingSession Session => _session;

    /// <summary><see cref="DefaultCapacity"/>, or <see cref="CapacityVariable"/> when it holds a whole number of at least 65536.</summary>
    public static long CapacityFromEnvironment(Func<string, string?> variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        return long.TryParse(variables(CapacityVariable), NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) && bytes >= 64 * 1024 ? bytes : DefaultCapacity;
    }

    /// <summary>Takes <paramref name="bytes"/> of the capacity; false (nothing taken) when they do not fit.</summary>
    public bool TryReserve(long bytes)
    {
        var used = Volatile.Read(ref _used);
        while (true)
        {
            if (used + bytes > Capacity)
            {
                return false;
            }

            var seen = Interlocked.CompareExchange(ref _used, used + bytes, used);
            if (seen == used)
            {
                return true;
            }

            used = seen;
        }
    }

    /// <summary>Gives back capacity taken with <see cref="TryReserve"/>.</summary>
    public void Release(long bytes) => Interlocked.Add(ref _used, -bytes);

    /// <summary>Queues a new copy (its head already reserved) for the next idle Serve call.</summary>
    public void Enqueue(MirrorCopy copy)
    {
        if (!_waiting.Writer.TryWrite(copy))
        {
            copy.Abandon(); // the session has ended
        }
    }

    /// <summary>Counts a dropped copy (<paramref name="copies"/> 1) or more dropped bytes of one (0), and schedules a report.</summary>
    public void CountDrop(int port, long copies, long bytes)
    {
        var dropped = _dropped.GetOrAdd(port, _ => new Dropped());
        if (copies > 0 && Interlocked.Add(ref dropped.Copies, copies) == copies)
        {
            AgentLog.MirrorDropping(_logger, _session.Name, port, Capacity);
        }

        Interlocked.Add(ref dropped.Bytes, bytes);
        if (Interlocked.Exchange(ref _reportScheduled, 1) == 0)
        {
            _ = ReportAsync();
        }
    }

    /// <summary>Ends the dispatch loop (the session has ended); copies still waiting are abandoned.</summary>
    public void Dispose() => _waiting.Writer.TryComplete();

    private async Task DispatchLoopAsync()
    {
        try
        {
            await foreach (var copy in _waiting.Reader.ReadAllAsync(_session.Ended).ConfigureAwait(false))
            {
                if (copy.IsDropped || !await _session.DispatchAsync(copy, Timeout.InfiniteTimeSpan, CancellationToken.None).ConfigureAwait(false))
                {
                    copy.Abandon();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // the session ended
        }

        _waiting.Writer.TryComplete();
        while (_waiting.Reader.TryRead(out var copy))
        {
            copy.Abandon();
        }
    }

    // Coalesces drops into one mirror_dropped per port that changed, a short while after the first.
    private async Task ReportAsync()
    {
        try
        {
            await Task.Delay(s_reportDelay, _session.Ended).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        Volatile.Write(ref _reportScheduled, 0);
        foreach (var (port, dropped) in _dropped)
        {
            var copies = Interlocked.Read(ref dropped.Copies);
            var bytes = Interlocked.Read(ref dropped.Bytes);
            if (copies == dropped.ReportedCopies && bytes == dropped.ReportedBytes)
            {
                continue;
            }

            dropped.ReportedCopies = copies;
            dropped.ReportedBytes = bytes;
            await _session.SendAsync(new IncomingServerMessage
            {
                MirrorDropped = new MirrorDropped { Port = (uint)port, Copies = (ulong)copies, Bytes = (ulong)bytes },
            }).ConfigureAwait(false);
        }
    }

    /// <summary>Running totals of one port's dropped copies, and what was last reported.</summary>
    private sealed class Dropped
    {
        public long Copies;
        public long Bytes;
        public long ReportedCopies;
        public long ReportedBytes;
    }
}
