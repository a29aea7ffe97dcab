using Doppel.Protocol;
using Google.Protobuf;
using Grpc.Core;

namespace Doppel.Session.Remote;

/// <summary>
/// The two copy loops of every relayed byte stream, shared by outgoing TCP (<see cref="TcpRelay"/>:
/// the app's socket ↔ an OutgoingService call) and incoming work (<c>Incoming.ServeWork</c>: the
/// local app's socket or upgraded HTTP stream ↔ a Serve call). Each loop returns whether it ended
/// cleanly (end of stream passed on as a half-close) instead of throwing, as YARP's copiers do.
/// <code>
///   local ──receive──► byte[ChunkSize] ──Relay.Wrap──► sendData ... sendHalfClose     (ToAgentAsync)
///   agent ──reader──► classify: data ─► write; half-close ─► halfClose(); error ─► false (FromAgentAsync)
/// </code>
/// </summary>
internal static class ByteRelay
{
    /// <summary>What a received relay message is to the copy loop.</summary>
    public enum Kind
    {
        /// <summary>Bytes to pass on.</summary>
        Data,

        /// <summary>The far side finished sending.</summary>
        HalfClose,

        /// <summary>The far side failed: the loop ends unclean.</summary>
        Error,

        /// <summary>Anything else: skipped.</summary>
        Other,
    }

    /// <summary>
    /// Local → agent: receives up to <see cref="Relay.ChunkSize"/> bytes at a time and sends each
    /// chunk (wrapped, not copied: the buffer is reused only once the send has completed); at end
    /// of stream sends the half-close. False, after <paramref name="ended"/> got the reason, when
    /// the local side or the call failed or <paramref name="cancellationToken"/> was cancelled.
    /// </summary>
    public static async Task<bool> ToAgentAsync(
        Func<Memory<byte>, CancellationToken, ValueTask<int>> receive,
        Func<ByteString, CancellationToken, Task> sendData,
        Func<CancellationToken, Task> sendHalfClose,
        Action<string> ended,
        CancellationToken cancellationToken)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(Relay.ChunkSize);
        try
        {
            int n;
            while ((n = await receive(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                await sendData(Relay.Wrap(buffer, n), cancellationToken).ConfigureAwait(false);
            }

            await sendHalfClose(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (IsRelayEnd(e))
        {
            ended(e.Message);
            return false;
        }
    }

    /// <summary>
    /// Agent → local: writes each data message's bytes, calls <paramref name="halfClose"/> on a
    /// half-close and keeps reading until the call ends (or stops there when
    /// <paramref name="endAtHalfClose"/>: nothing may follow it). False when a message is an error (after
    /// <paramref name="failed"/> got it), or the call or the local side failed (after
    /// <paramref name="ended"/> got the reason).
    /// </summary>
    public static async Task<bool> FromAgentAsync<T>(
        IAsyncStreamReader<T> reader,
        Func<T, (Kind Kind, ReadOnlyMemory<byte> Data)> classify,
        Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write,
        Action halfClose,
        Action<T> failed,
        Action<string> ended,
        CancellationToken cancellationToken,
        bool endAtHalfClose = false)
    {
        try
        {
            while (await reader.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                var message = reader.Current;
                var (kind, data) = classify(message);
                switch (kind)
                {
                    case Kind.Data:
                        await write(data, cancellationToken).ConfigureAwait(false);
                        break;
                    case Kind.HalfClose:
                        halfClose();
                        if (endAtHalfClose)
                        {
                            return true;
                        }

                        break;
                    case Kind.Error:
                        failed(message);
                        return false;
                }
            }

            return true;
        }
        catch (Exception e) when (IsRelayEnd(e))
        {
            ended(e.Message);
            return false;
        }
    }

    /// <summary>The ways a relayed stream ends that are not bugs: resets, a call gone, cancellation, a disposed socket.</summary>
    public static bool IsRelayEnd(Exception e) =>
        e is System.Net.Sockets.SocketException or IOException or RpcException or OperationCanceledException or InvalidOperationException or ObjectDisposedException;
}
