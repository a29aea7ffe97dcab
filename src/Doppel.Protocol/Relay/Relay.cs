using Google.Protobuf;

namespace Doppel.Protocol;

/// <summary>
/// Shared rules for moving bytes in protocol messages (TCP/UDP relays, ReadFile, WriteFile).
/// </summary>
/// <remarks>
/// <code>
///   app socket ──recv──► pooled byte[ChunkSize] ──Wrap──► ByteString ──WriteAsync──► HTTP/2 stream
///                        (not touched again until WriteAsync has completed)
/// </code>
/// Measured here (LINUX-NOTES.md, "gRPC over HTTP/2"): 64 KiB chunks beat larger ones
/// (256 KiB lands on the large-object heap), wrapping instead of copying helps, and
/// <c>WriteFlags.BufferHint</c> hurts badly (download 720 → 157 MB/s): never set it on relay writes.
/// </remarks>
public static class Relay
{
    /// <summary>Bytes per data message at most: 64 KiB.</summary>
    public const int ChunkSize = 64 * 1024;

    /// <summary>Directory entries per <c>ListDirectoryResponse</c> at most (keeps a message far below gRPC's 4 MB default limit).</summary>
    public const int MaxDirectoryEntriesPerMessage = 512;

    /// <summary>
    /// Wraps <paramref name="buffer"/> in a <see cref="ByteString"/> without copying, for a send.
    /// Ownership rule: the <see cref="ByteString"/> aliases the buffer, so the caller must not
    /// write to it, reuse it or return it to its pool until the write that carries the message
    /// (<c>IAsyncStreamWriter.WriteAsync</c>, or the unary call) has completed; the message must
    /// not be kept after that either. Received messages never need this: read them through
    /// <see cref="ByteString.Memory"/>/<see cref="ByteString.Span"/> without copying.
    /// </summary>
    public static ByteString Wrap(ReadOnlyMemory<byte> buffer) => UnsafeByteOperations.UnsafeWrap(buffer);

    /// <summary>Wraps the first <paramref name="count"/> bytes of <paramref name="buffer"/>; same ownership rule as <see cref="Wrap(ReadOnlyMemory{byte})"/>.</summary>
    public static ByteString Wrap(byte[] buffer, int count) => UnsafeByteOperations.UnsafeWrap(buffer.AsMemory(0, count));
}
