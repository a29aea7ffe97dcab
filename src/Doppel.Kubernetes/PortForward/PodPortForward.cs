using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Net.WebSockets;
using k8s;
using k8s.Autorest;
using k8s.Exceptions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Doppel.Kubernetes.PortForward;

/// <summary>
/// Byte streams to one TCP port of a pod through the API server's port-forward, as
/// <c>kubectl port-forward</c> reaches it, but over a WebSocket (<c>v4.channel.k8s.io</c>) and
/// one WebSocket per stream:
/// <code>
///   caller ⇄ PortForwardStream ⇄ WebSocket (TLS) ⇄ API server ⇄ kubelet/CRI ⇄ 127.0.0.1:PORT in the pod
///   GET /api/v1/namespaces/NS/pods/NAME/portforward?ports=PORT   (Upgrade: websocket)
///   every message: [channel byte][payload]; channel 0 = data, 1 = error;
///   the first 2 bytes the server sends on each channel are PORT, little-endian.
/// </code>
/// KubernetesClient makes the handshake with the connection's credentials (client certificate,
/// bearer token, exec plugin, <c>accept_invalid_certificates</c>); the framing is
/// <see cref="PortForwardStream"/>'s. The WebSocket pings every <see cref="KeepAliveInterval"/>
/// and is dropped when no pong comes within <see cref="KeepAliveTimeout"/>.
/// </summary>
public sealed class PodPortForward : IAsyncDisposable
{
    /// <summary>How often an idle WebSocket sends a ping (keeps proxies and the API server from timing it out).</summary>
    public static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(15);

    /// <summary>How long a ping may go unanswered before the stream is broken (reads and writes then throw IOException).</summary>
    public static readonly TimeSpan KeepAliveTimeout = TimeSpan.FromSeconds(20);

    /// <summary>How long <see cref="ConnectAsync"/> waits for the API server's upgrade and the port prefix.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(30);

    private readonly KubeConnection _connection;
    private readonly int _port;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<PortForwardStream, byte> _open = new();
    private int _disposed;

    /// <summary>
    /// A port-forward to PORT (1–65535) of pod NAMESPACE/POD; nothing is sent until <see cref="ConnectAsync"/>.
    /// </summary>
    public PodPortForward(KubeConnection connection, string @namespace, string pod, int port, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentException.ThrowIfNullOrEmpty(@namespace);
        ArgumentException.ThrowIfNullOrEmpty(pod);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        _connection = connection;
        Namespace = @namespace;
        Pod = pod;
        _port = port;
        _logger = logger ?? NullLogger.Instance;
        if (connection.Client is k8s.Kubernetes client)
        {
            // Every WebSocket of this client pings: the builder is the client's only hook for the options.
            client.CreateWebSocketBuilder = CreateWebSocketBuilder;
        }
    }

    /// <summary>The pod's namespace.</summary>
    public string Namespace { get; }

    /// <summary>The pod's name.</summary>
    public string Pod { get; }

    /// <summary>The pod's port.</summary>
    public int Port => _port;

    /// <summary>Where the streams lead, for messages: <c>pod/NAMESPACE/NAME:PORT</c>.</summary>
    public string Address => $"pod/{Namespace}/{Pod}:{_port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>
    /// Opens one new port-forward stream (its own WebSocket): a duplex <see cref="Stream"/> whose
    /// reads return the pod port's bytes (0 at its end) and whose writes send to it. Returns once
    /// the API server has upgraded and sent the port prefix; the kubelet dials the port then, so a
    /// refused port shows as an IOException with the kubelet's text on the first read or write.
    /// Throws <see cref="IOException"/> when the pod does not exist or is not running, the API
    /// server cannot be reached or the upgrade fails; <see cref="KubeException"/> when the
    /// credentials are refused or RBAC does not allow <c>create pods/portforward</c> (retrying
    /// will not help); <see cref="OperationCanceledException"/> on cancellation.
    /// </summary>
    public async ValueTask<Stream> ConnectAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ConnectTimeout);
        PortForwardLog.Connecting(_logger, Address);
        WebSocket socket;
        try
        {
            socket = await _connection.Client.WebSocketNamespacedPodPortForwardAsync(
                Pod, Namespace, [_port], WebSocketProtocol.V4BinaryWebsocketProtocol, cancellationToken: timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new IOException($"The port-forward to {Address} timed out: the API server {_connection.Server} did not upgrade within {ConnectTimeout.TotalSeconds:0} s.");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var error = ConnectError(await ExplainAsync(e, timeout.Token).ConfigureAwait(false));
            PortForwardLog.ConnectFailed(_logger, Address, error.Message);
            throw error;
        }

        var stream = new PortForwardStream(socket, _port, Address, Forget);
        _open[stream] = 0;
        try
        {
            await stream.ReadPortPrefixAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw new IOException($"The port-forward to {Address} timed out: the API server upgraded but sent no port prefix within {ConnectTimeout.TotalSeconds:0} s.");
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        if (Volatile.Read(ref _disposed) != 0)
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw new ObjectDisposedException(nameof(PodPortForward));
        }

        PortForwardLog.Connected(_logger, Address);
        return stream;
    }

    /// <summary>Closes every stream still open; <see cref="ConnectAsync"/> throws afterwards.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await Task.WhenAll(_open.Keys.Select(s => s.DisposeAsync().AsTask())).ConfigureAwait(false);
    }

    private void Forget(PortForwardStream stream) => _open.TryRemove(stream, out _);

    private static WebSocketBuilder CreateWebSocketBuilder()
    {
        var builder = new WebSocketBuilder();
        builder.Options.KeepAliveInterval = KeepAliveInterval;
        builder.Options.KeepAliveTimeout = KeepAliveTimeout;
        return builder;
    }

    /// <summary>
    /// .NET reports a refused upgrade as "status code '404' when '101' was expected" (no body);
    /// the same request without the upgrade gets the API server's Status (what is missing or
    /// forbidden), as KubernetesClient does for its own header errors.
    /// </summary>
    private async Task<Exception> ExplainAsync(Exception e, CancellationToken cancellationToken)
    {
        if (e is not WebSocketException { WebSocketErrorCode: WebSocketError.NotAWebSocket })
        {
            return e;
        }

        try
        {
            await _connection.Client.CoreV1.ConnectGetNamespacedPodPortforwardAsync(Pod, Namespace, _port, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException http)
        {
            return http;
        }
        catch (Exception other) when (other is HttpRequestException or IOException or OperationCanceledException)
        {
        }

        return e;
    }

    /// <summary>The one exception a failed upgrade becomes (see <see cref="ConnectAsync"/>).</summary>
    private Exception ConnectError(Exception e)
    {
        var what = $"The port-forward to {Address}";
        switch (e)
        {
            case HttpOperationException { Response.StatusCode: HttpStatusCode.Forbidden } http:
                return new KubeException(
                    $"The context '{_connection.Context}' is not allowed to create pods/portforward in namespace {Namespace}; check with `kubectl auth can-i create pods/portforward -n {Namespace}`.", http);
            case HttpOperationException { Response.StatusCode: HttpStatusCode.Unauthorized } http:
                return new KubeException($"The API server {_connection.Server} rejected the credentials of context '{_connection.Context}' (401 Unauthorized); log in again or fix the user in the kubeconfig.", http);
            case HttpOperationException http:
                return new IOException($"{what} failed: the API server answered {(int)http.Response.StatusCode}: {KubeApi.Reason(http)}", http);
            case KubeConfigException or KubernetesClientException:
                return new KubeException($"The credentials of context '{_connection.Context}' cannot be obtained: {KubeApi.Innermost(e)}", e);
            default:
                return new IOException($"{what} failed: {KubeApi.Innermost(e)}", e);
        }
    }
}
