using System.Threading.Channels;
using Doppel.Protocol.V1;
using Grpc.Core;

namespace Doppel.Session.Tests.Incoming;

/// <summary>
/// The two directions of one Serve call as in-memory queues, so a test drives the session's
/// delivery code (<c>ServeWork</c>) with the protocol's messages directly: what the agent would
/// send goes in through <see cref="SendAsync"/>, what the session answers comes out of
/// <see cref="NextAsync"/>. Not a server: no IncomingService logic is imitated.
/// </summary>
internal sealed class ServeLine
{
    private readonly Channel<ServeServerMessage> _toSession = Channel.CreateUnbounded<ServeServerMessage>();
    private readonly Channel<ServeClientMessage> _fromSession = Channel.CreateUnbounded<ServeClientMessage>();

    public ServeLine()
    {
        Reader = new ChannelReaderStream(_toSession.Reader);
        Writer = new ChannelWriterStream(_fromSession.Writer);
    }

    public IAsyncStreamReader<ServeServerMessage> Reader { get; }

    public IAsyncStreamWriter<ServeClientMessage> Writer { get; }

    public ValueTask SendAsync(ServeServerMessage message) => _toSession.Writer.WriteAsync(message);

    public void EndFromAgent() => _toSession.Writer.TryComplete();

    public async Task<ServeClientMessage> NextAsync(CancellationToken cancellationToken) =>
        await _fromSession.Reader.ReadAsync(cancellationToken);

    /// <summary>Collects data messages until one that is not data; returns the bytes and that message.</summary>
    public async Task<(byte[] Body, ServeClientMessage End)> ReadBodyAsync(CancellationToken cancellationToken)
    {
        var body = new MemoryStream();
        while (true)
        {
            var message = await NextAsync(cancellationToken);
            if (message.MessageCase != ServeClientMessage.MessageOneofCase.Data)
            {
                return (body.ToArray(), message);
            }

            body.Write(message.Data.Span);
        }
    }

    private sealed class ChannelReaderStream(ChannelReader<ServeServerMessage> reader) : IAsyncStreamReader<ServeServerMessage>
    {
        public ServeServerMessage Current { get; private set; } = null!;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            if (!await reader.WaitToReadAsync(cancellationToken))
            {
                return false;
            }

            Current = await reader.ReadAsync(cancellationToken);
            return true;
        }
    }

    private sealed class ChannelWriterStream(ChannelWriter<ServeClientMessage> writer) : IAsyncStreamWriter<ServeClientMessage>
    {
        public WriteOptions? WriteOptions { get; set; }

        // A real call has serialised the message when the write completes; the copy does the same
        // for data that aliases a buffer the writer reuses.
        public Task WriteAsync(ServeClientMessage message) => WriteAsync(message, CancellationToken.None);

        public Task WriteAsync(ServeClientMessage message, CancellationToken cancellationToken) => writer.WriteAsync(
            message.MessageCase == ServeClientMessage.MessageOneofCase.Data
                ? new ServeClientMessage { Data = Google.Protobuf.ByteString.CopyFrom(message.Data.Span) }
                : message.Clone(),
            cancellationToken).AsTask();
    }
}
