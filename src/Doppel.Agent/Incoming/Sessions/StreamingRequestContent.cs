using System.IO.Pipelines;
using System.Net;

namespace Doppel.Agent.Incoming;

/// <summary>
/// A passed-through request's body, sent to the app as it arrives: each chunk read from the
/// client is written and flushed at once. <see cref="StreamContent"/> leaves the chunks in
/// SocketsHttpHandler's HTTP/2 write buffer until it fills or the body ends, so a duplex call
/// (gRPC bidirectional streaming, whose client waits for each answer before it sends the next
/// message) never reached the app and the call was reset. YARP's forwarder flushes each write
/// of a streaming request for the same reason. The length is unknown to the content (a
/// Content-Length header of the client's request is copied into <see cref="HttpContent.Headers"/>
/// and sent as is).
/// </summary>
internal sealed class StreamingRequestContent(PipeReader body) : HttpContent
{
    /// <summary>
    /// True once the handler began to send the body: from then on bytes may have been taken from
    /// the client's stream, and the body cannot be sent again (no fallback to HTTP/1.1 for it).
    /// </summary>
    public bool Started { get; private set; }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        Started = true;
        while (true)
        {
            var result = await body.ReadAsync(cancellationToken).ConfigureAwait(false);
            foreach (var segment in result.Buffer)
            {
                await stream.WriteAsync(segment, cancellationToken).ConfigureAwait(false);
            }

            body.AdvanceTo(result.Buffer.End);
            if (!result.Buffer.IsEmpty)
            {
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                return;
            }
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}
