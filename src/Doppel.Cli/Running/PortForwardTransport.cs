using Doppel.Kubernetes;
using Doppel.Kubernetes.Agents;
using Doppel.Session.Agent;
using k8s;

namespace Doppel.Cli.Running;

/// <summary>
/// A session's way to an agent in a cluster: each <see cref="ConnectAsync"/> is a new stream of
/// the API server's WebSocket port-forward (<c>v4.channel.k8s.io</c>) to the agent pod's port, one
/// per HTTP/2 connection of the session (control and relay lanes, first and after a drop).
/// <para>
/// Interim: KubernetesClient's own port-forward (a WebSocket and its StreamDemuxer per stream),
/// until helper "pf"'s <c>Doppel.Kubernetes.PortForward.PodPortForward</c> (bounded buffers,
/// keepalive) is merged; then <see cref="ConnectAsync"/> becomes its ConnectAsync.
/// </para>
/// </summary>
internal sealed class PortForwardTransport(KubeConnection connection, AgentWorkload workload) : IAgentTransport, IAsyncDisposable
{
    /// <inheritdoc/>
    public string Address => $"pod/{workload.Namespace}/{workload.PodName}:{workload.Port}";

    /// <inheritdoc/>
    public async ValueTask<Stream> ConnectAsync(CancellationToken cancellationToken)
    {
        var socket = await connection.Client.WebSocketNamespacedPodPortForwardAsync(
            workload.PodName, workload.Namespace, [workload.Port], "v4.channel.k8s.io", cancellationToken: cancellationToken).ConfigureAwait(false);
        var demuxer = new StreamDemuxer(socket, StreamType.PortForward, ownsSocket: true);
        demuxer.Start();
        return new DemuxedStream(demuxer, demuxer.GetStream((byte?)0, (byte?)0));
    }

    /// <summary>Nothing to end: each stream owns its WebSocket.</summary>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>The data channel of one port-forward WebSocket; disposing it closes the WebSocket.</summary>
    private sealed class DemuxedStream(StreamDemuxer demuxer, Stream inner) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.WriteAsync(buffer, offset, count, cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
                demuxer.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
