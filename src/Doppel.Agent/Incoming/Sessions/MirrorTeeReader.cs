using System.Buffers;
using System.IO.Pipelines;

namespace Doppel.Agent.Incoming;

/// <summary>
/// A <see cref="PipeReader"/> in front of the original path's reader (a redirected connection's
/// input, or a request body) that hands every byte the original path consumes to
/// <paramref name="copy"/> before it lets go of it, and calls <paramref name="ended"/> once
/// when the input has ended and all of it was consumed.
/// <code>
///   client ──► inner reader ──► MirrorTeeReader ──► original path (Kestrel, pass-through, a stolen request)
///                                     └─ AdvanceTo(consumed): consumed bytes ──► mirror copies
/// </code>
/// Bytes only examined (HTTP detection, a body read ahead for a filter) are not copied until
/// they are consumed, so each byte is copied once, in order. The callbacks run on the reader's
/// thread and must not wait.
/// </summary>
internal sealed class MirrorTeeReader(PipeReader inner, Action<ReadOnlySequence<byte>> copy, Action ended) : PipeReader
{
    private ReadOnlySequence<byte> _last;
    private bool _lastCompleted;
    private bool _ended;

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        var read = inner.ReadAsync(cancellationToken);
        if (read.IsCompletedSuccessfully)
        {
            // Result consumes a ValueTask backed by the pipe's IValueTaskSource: the caller gets
            // a new one over the result, never the same one to consume a second time (the pipe
            // would throw "Reading is already in progress" when it had completed just now).
            var result = read.Result;
            Remember(result);
            return new ValueTask<ReadResult>(result);
        }

        return ReadSlowAsync(read);
    }

    public override bool TryRead(out ReadResult result)
    {
        if (!inner.TryRead(out result))
        {
            return false;
        }

        Remember(result);
        return true;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        var taken = _last.Slice(_last.Start, consumed);
        var all = _lastCompleted && _last.Slice(consumed).IsEmpty;
        if (!taken.IsEmpty)
        {
            copy(taken);
        }

        _last = default;
        inner.AdvanceTo(consumed, examined);
        if (all && !_ended)
        {
            _ended = true;
            ended();
        }
    }

    public override void CancelPendingRead() => inner.CancelPendingRead();

    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

    private async ValueTask<ReadResult> ReadSlowAsync(ValueTask<ReadResult> read)
    {
        var result = await read.ConfigureAwait(false);
        Remember(result);
        return result;
    }

    private void Remember(ReadResult result)
    {
        _last = result.Buffer;
        _lastCompleted = result.IsCompleted;
    }
}
