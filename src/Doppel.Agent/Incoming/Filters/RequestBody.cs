using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;

namespace Doppel.Agent.Incoming;

/// <summary>
/// A request body read ahead for body filters, with mirrord's limits (agent
/// <c>incoming/connection/http.rs</c>, <c>buffer_body</c>): at most 64 KiB
/// (<c>MIRRORD_MAX_BODY_BUFFER_SIZE</c>, default 64 × 1024) within 1 s
/// (<c>MIRRORD_MAX_BODY_BUFFER_TIMEOUT</c>, default 1000 ms); a Content-Length over the limit is
/// refused without reading. Beyond either limit body filters do not match.
/// <code>
///   client ──body──▶ PipeReader ──(examined, not consumed)──▶ RequestBody (a copy, ≤ 64 KiB)
///                         └──────── the forwarder then reads the whole body from the start
/// </code>
/// Reading never consumes: the reader is left with every byte still unread, so whoever forwards
/// the request reads the body from its first byte. The JSON form is parsed once, on first use,
/// and shared by every body filter of the request (not thread-safe: one request, one thread).
/// </summary>
internal sealed class RequestBody : IDisposable
{
    /// <summary>mirrord's default body buffer size, in bytes.</summary>
    public const int DefaultLimit = 64 * 1024;

    /// <summary>mirrord's default time to wait for the whole body.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(1);

    private JsonDocument? _json;
    private bool _parsed;

    private RequestBody(BodyBufferOutcome outcome, ReadOnlyMemory<byte> bytes)
    {
        Outcome = outcome;
        Bytes = bytes;
    }

    /// <summary>How the read ended; only <see cref="BodyBufferOutcome.Complete"/> bodies can match.</summary>
    public BodyBufferOutcome Outcome { get; }

    /// <summary>The whole body when <see cref="Outcome"/> is <see cref="BodyBufferOutcome.Complete"/>; empty otherwise.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    /// <summary>A body that is already complete (tests, bodies buffered elsewhere).</summary>
    public static RequestBody FromBytes(ReadOnlyMemory<byte> bytes) => new(BodyBufferOutcome.Complete, bytes);

    /// <summary>A body that could not be read within the limits.</summary>
    public static RequestBody Unusable(BodyBufferOutcome outcome) =>
        outcome == BodyBufferOutcome.Complete ? throw new ArgumentOutOfRangeException(nameof(outcome)) : new(outcome, ReadOnlyMemory<byte>.Empty);

    /// <summary>
    /// Reads the body ahead from <paramref name="reader"/> (Kestrel's <c>HttpRequest.BodyReader</c>)
    /// without consuming it: until it ends (Complete), passes <paramref name="limit"/> bytes
    /// (TooLarge), or <paramref name="timeout"/> runs out on <paramref name="time"/> (TimedOut; the
    /// pending read is cancelled through its token, which leaves the reader usable). Throws
    /// <see cref="OperationCanceledException"/> only when <paramref name="cancellationToken"/> is
    /// cancelled (the request was aborted).
    /// </summary>
    public static async ValueTask<RequestBody> BufferAsync(
        PipeReader reader,
        long? contentLength,
        TimeProvider time,
        CancellationToken cancellationToken,
        int limit = DefaultLimit,
        TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(time);
        if (contentLength > limit)
        {
            return Unusable(BodyBufferOutcome.TooLarge);
        }

        using var deadline = new CancellationTokenSource(timeout ?? DefaultTimeout, time);
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken);
        while (true)
        {
            ReadResult result;
            try
            {
                result = await reader.ReadAsync(reading.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return Unusable(BodyBufferOutcome.TimedOut);
            }

            var buffer = result.Buffer;
            var body = buffer.Length > limit ? Unusable(BodyBufferOutcome.TooLarge)
                : result.IsCompleted ? FromBytes(buffer.ToArray())
                : result.IsCanceled ? Unusable(BodyBufferOutcome.TimedOut) // someone called CancelPendingRead: the request is being torn down
                : null;

            // Examined everything, consumed nothing: the next read (ours or the forwarder's) sees
            // the body from its start, and waits only for bytes that have not arrived yet.
            reader.AdvanceTo(buffer.Start, buffer.End);
            if (body is not null)
            {
                return body;
            }
        }
    }

    /// <summary>
    /// The body parsed as JSON (System.Text.Json's <see cref="JsonDocument"/>: no reflection,
    /// AOT-clean), parsed on the first call; false when the body is incomplete or not JSON.
    /// </summary>
    public bool TryGetJson(out JsonElement root)
    {
        if (!_parsed && Outcome == BodyBufferOutcome.Complete)
        {
            _parsed = true;
            try
            {
                _json = JsonDocument.Parse(Bytes);
            }
            catch (JsonException)
            {
                _json = null;
            }
        }

        root = _json?.RootElement ?? default;
        return _json is not null;
    }

    public void Dispose() => _json?.Dispose();
}
