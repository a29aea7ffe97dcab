using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Doppel.Linux.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Doppel.Agent.Incoming;

/// <summary>
/// A second Kestrel server in the agent that accepts on the redirect's listener socket (in the
/// target's namespace, <c>ListenHandle</c>) and serves every redirected connection:
/// <code>
///   accepted ──SO_ORIGINAL_DST──► port ──unfiltered steal──► TcpWork on a Serve call of the owner
///                                      │   (a port the kubelet probes over HTTP: a kube-probe request ──► TCP pass-through to the app, KubeProbeHead)
///                                      ├─filtered──► detect (≤ 2 s): PRI * HTTP/2.0 → Kestrel's HTTP/2 pipeline,
///                                      │             request line → its HTTP/1.x pipeline,
///                                      │             else / timeout → TCP pass-through to the app
///                                      └─none (unsubscribed meanwhile) ──► TCP pass-through to the app
///   HTTP request ──PortSubscriptions.Choose──► winner: HttpWork on a Serve call │ none: HttpPassThrough to the app
///                (an unfiltered steal subscribed since the connection came: HttpWork on its Serve call, kube-probe requests of a probed port excepted)
///   mirrors: whole ──► a tee on the connection's input; filtered ──► a tee on each matching request's body (MirrorCopies)
/// </code>
/// </summary>
internal sealed class IncomingFront : IAsyncDisposable
{
    /// <summary>How long a filtered port's connection may stay silent before it is passed through as plain TCP.</summary>
    public static readonly TimeSpan HttpDetectionTimeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// A new 0700 directory for the HTTP/2 pipeline's socket: under the temporary directory, or —
    /// where there is none, as in the agent's FROM-scratch image — under <c>/dev/shm</c>, which
    /// container runtimes mount in every container. Throws <see cref="IOException"/> when neither works.
    /// </summary>
    private static DirectoryInfo PrivateDirectory()
    {
        try
        {
            return Directory.CreateTempSubdirectory("doppel-agent-h2-");
        }
        catch (IOException) when (Directory.Exists("/dev/shm"))
        {
            var path = Path.Combine("/dev/shm", "doppel-agent-h2-" + Guid.NewGuid().ToString("N")[..12]);
            return Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static readonly byte[] s_http2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    private readonly WebApplication _app;
    private readonly HttpPassThrough _passThrough;

    private IncomingFront(WebApplication app, HttpPassThrough passThrough, EndPoint listenerEndPoint)
    {
        _app = app;
        _passThrough = passThrough;
        ListenerEndPoint = listenerEndPoint;
    }

    /// <summary>The listener's address in the target's namespace (the redirect's destination port).</summary>
    public EndPoint ListenerEndPoint { get; }

    /// <summary>Starts serving <paramref name="listener"/> (Kestrel takes over its descriptor).</summary>
    public static async Task<IncomingFront> StartAsync(IncomingHub hub, Socket listener, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var endPoint = listener.LocalEndPoint!;
        var passThrough = new HttpPassThrough(hub);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        builder.Logging.ClearProviders();
        foreach (var provider in new[] { loggers })
        {
            builder.Logging.AddProvider(new ForwardingProvider(provider));
        }

        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        // Off, not just quiet: while any level of it is on, hosting starts an Activity and a log
        // scope for every request (it checks Critical), which this front never reports.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        // Kestrel turns an Http1AndHttp2 endpoint without TLS into HTTP/1.1 only when it binds
        // (it logs "HTTP/2 is not enabled ... TLS is not enabled"), so setting the ALPN feature on
        // a connection is not enough. The HTTP/2 pipeline is taken from a second, HTTP/2-only
        // endpoint instead: a unix socket in a private directory, removed once Kestrel listens,
        // that aborts anything that reaches it. The redirect's endpoint speaks HTTP/1.x and hands
        // connections that begin with the HTTP/2 preface to that pipeline.
        var http2 = new TaskCompletionSource<ConnectionDelegate>(TaskCreationOptions.RunContinuationsAsynchronously);
        var directory = PrivateDirectory();
        var http2Socket = Path.Combine(directory.FullName, "h2.sock");
        // Every redirected request crosses this front, so it takes the shortest path per read:
        // the request's code runs on the socket's completion (no thread-pool hop per read; it
        // only awaits, never blocks), and a read goes straight to a buffer (no zero-byte read
        // first: one syscall per read instead of two).
        builder.WebHost.UseSockets(sockets =>
        {
            sockets.UnsafePreferInlineScheduling = true;
            sockets.WaitForDataBeforeAllocatingBuffer = false;
        });
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = null; // bodies are streamed, never held
            kestrel.ListenHandle((ulong)listener.Handle, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                listen.Use(next => connection => RouteConnectionAsync(hub, connection, next, http2.Task));
            });
            kestrel.ListenUnixSocket(http2Socket, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                listen.Use(next =>
                {
                    http2.TrySetResult(next);
                    return connection =>
                    {
                        connection.Abort(new ConnectionAbortedException("Not a redirected connection."));
                        return Task.CompletedTask;
                    };
                });
            });
        });
        var app = builder.Build();
        app.Run(context => ServeRequestAsync(hub, passThrough, context));
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            directory.Delete(recursive: true);
        }

        return new IncomingFront(app, passThrough, endPoint);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _passThrough.Dispose();
    }

    /// <summary>What the HTTP/1 request-line or HTTP/2 preface check found in the first bytes.</summary>
    internal enum Detected
    {
        NeedMore,
        Http1,
        Http2,
        NotHttp,
    }

    /// <summary>
    /// Classifies a connection's first bytes: the HTTP/2 client preface, an HTTP/1.x request line
    /// (<c>TOKEN SP target SP HTTP/1.d CRLF</c>), or neither. Pure; tests pin it.
    /// </summary>
    internal static Detected Detect(ReadOnlySequence<byte> bytes)
    {
        var length = (int)Math.Min(bytes.Length, 8192);
        var span = bytes.Slice(0, length).ToArray().AsSpan();
        var preface = s_http2Preface.AsSpan(0, Math.Min(span.Length, s_http2Preface.Length));
        if (span[..preface.Length].SequenceEqual(preface))
        {
            return span.Length >= s_http2Preface.Length ? Detected.Http2 : Detected.NeedMore;
        }

        var method = 0;
        while (method < span.Length && span[method] is >= (byte)'A' and <= (byte)'Z' or (byte)'-' or (byte)'_')
        {
            method++;
        }

        if (method == span.Length)
        {
            return method < 32 ? Detected.NeedMore : Detected.NotHttp;
        }

        if (method == 0 || span[method] != (byte)' ')
        {
            return Detected.NotHttp;
        }

        var lineEnd = span.IndexOf((byte)'\n');
        if (lineEnd < 0)
        {
            return length >= 8192 ? Detected.NotHttp : Detected.NeedMore;
        }

        var line = Encoding.ASCII.GetString(span[..lineEnd]).TrimEnd('\r');
        return line.EndsWith(" HTTP/1.1", StringComparison.Ordinal) || line.EndsWith(" HTTP/1.0", StringComparison.Ordinal)
            ? Detected.Http1
            : Detected.NotHttp;
    }

    private static async Task RouteConnectionAsync(IncomingHub hub, ConnectionContext connection, ConnectionDelegate next, Task<ConnectionDelegate> http2)
    {
        var socket = connection.Features.Get<IConnectionSocketFeature>()?.Socket;
        var original = socket is null ? null : OriginalDestination.Get(socket);
        if (original is null)
        {
            connection.Abort(new ConnectionAbortedException("Not a redirected connection."));
            return;
        }

        var client = connection.RemoteEndPoint as IPEndPoint;
        if (client?.Address.IsIPv4MappedToIPv6 == true)
        {
            client = new IPEndPoint(client.Address.MapToIPv4(), client.Port);
        }

        var route = hub.Route(original.Port);
        using var copies = MirrorCopies.OfConnection(route.Mirrors, connection, original.Port, client, original);
        if (route.WholeSteal is { } owner)
        {
            // The kubelet's HTTP probes of this port still reach the app, so the pod stays ready
            // and is not restarted while a developer steals the port (issue P8).
            if (hub.IsHttpProbePort(original.Port) && await KubeProbeHead.ReadAheadAsync(connection.Transport.Input, CancellationToken.None).ConfigureAwait(false))
            {
                await TcpPassThroughAsync(hub, connection, original).ConfigureAwait(false);
                return;
            }

            var work = new TcpWork(connection, original.Port, client, original);
            if (!await owner.DispatchAsync(work, IncomingHub.ServeWait, CancellationToken.None).ConfigureAwait(false))
            {
                await work.FailAsync($"no idle Serve call of {owner.Name} within {IncomingHub.ServeWait.TotalSeconds} s").ConfigureAwait(false);
            }

            await work.Done.ConfigureAwait(false);
            return;
        }

        if (route.Filtered is not null || route.Mirrors?.Filtered is not null)
        {
            var detected = await DetectAsync(connection.Transport.Input, CancellationToken.None).ConfigureAwait(false);
            if (detected is Detected.Http1 or Detected.Http2)
            {
                connection.Features.Set(new OriginalDestinationFeature(original, client));
                await using var tolerant = new HalfCloseTolerantConnection(connection, socket!);
                var pipeline = detected == Detected.Http2 ? await http2.ConfigureAwait(false) : next;
                await pipeline(tolerant).ConfigureAwait(false);
                return;
            }
        }

        await TcpPassThroughAsync(hub, connection, original).ConfigureAwait(false);
    }

    private static async Task<Detected> DetectAsync(PipeReader input, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(HttpDetectionTimeout);
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(deadline.Token).ConfigureAwait(false);
                var detected = Detect(result.Buffer);
                // Examined, not consumed: Kestrel (or the pass-through) reads the same bytes again.
                input.AdvanceTo(result.Buffer.Start, detected == Detected.NeedMore ? result.Buffer.End : result.Buffer.Start);
                if (detected != Detected.NeedMore)
                {
                    return detected;
                }

                if (result.IsCompleted)
                {
                    return Detected.NotHttp;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return Detected.NotHttp;
        }
    }

    private static async Task TcpPassThroughAsync(IncomingHub hub, ConnectionContext connection, IPEndPoint original)
    {
        Socket app;
        try
        {
            using var connectTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            app = await hub.ConnectToAppAsync(original, connectTimeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            connection.Abort(new ConnectionAbortedException("The app could not be reached."));
            return;
        }

        using (app)
        {
            using var stream = new NetworkStream(app, ownsSocket: false);
            // Never ConnectionClosed here (nor for the connect, the detection or the dispatch):
            // Kestrel fires it when the client half-closes, and the answer must still reach the
            // client then. Each copy ends with its stream.
            var toApp = CopyToAppAsync(connection.Transport.Input, app, CancellationToken.None);
            var toClient = CopyToClientAsync(stream, connection.Transport.Output, CancellationToken.None);
            await Task.WhenAll(toApp, toClient).ConfigureAwait(false);
        }
    }

    private static async Task CopyToAppAsync(PipeReader input, Socket app, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
                foreach (var segment in result.Buffer)
                {
                    var data = segment;
                    while (!data.IsEmpty)
                    {
                        data = data[await app.SendAsync(data, SocketFlags.None, cancellationToken).ConfigureAwait(false)..];
                    }
                }

                input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }

            app.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ConnectionResetException or InvalidOperationException)
        {
            SocketReset.Close(app);
        }
    }

    private static async Task CopyToClientAsync(NetworkStream app, PipeWriter output, CancellationToken cancellationToken)
    {
        try
        {
            await app.CopyToAsync(output, cancellationToken).ConfigureAwait(false);
            await output.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or InvalidOperationException)
        {
            await output.CompleteAsync(e).ConfigureAwait(false);
        }
    }


    private static async Task ServeRequestAsync(IncomingHub hub, HttpPassThrough passThrough, HttpContext context)
    {
        if (await UpgradedRelay.RefusedExtendedConnectAsync(context).ConfigureAwait(false))
        {
            return;
        }

        var connection = context.Features.Get<OriginalDestinationFeature>()!;
        var port = connection.Original.Port;
        var route = hub.Route(port);
        if (route.WholeSteal is { } whole && !(hub.IsHttpProbePort(port) && IsKubeProbe(context.Request)))
        {
            // An unfiltered steal subscribed after this connection was routed as HTTP: it takes
            // the connection's further requests, as it takes every new connection (without it,
            // they went to the app, matching filters or not).
            await DispatchAsync(whole, new HttpWork(context, port, connection.Client), context.RequestAborted).ConfigureAwait(false);
            return;
        }

        var subscriptions = route.Filtered;
        if (subscriptions is not null || route.Mirrors?.Filtered is not null)
        {
            var request = context.Request;
            RequestBody? body = null;
            if ((subscriptions?.NeedsBody == true || route.Mirrors?.Filtered?.NeedsBody == true) && UpgradedRelay.Upgradable(context) is null) // an upgrade's "body" is the upgraded stream
            {
                body = await RequestBody.BufferAsync(request.BodyReader, request.ContentLength, TimeProvider.System, context.RequestAborted).ConfigureAwait(false);
            }

            using (body)
            {
                var headers = new List<KeyValuePair<string, string>>();
                foreach (var (name, values) in request.Headers)
                {
                    if (request.Protocol == "HTTP/2" && name.Equals("Host", StringComparison.OrdinalIgnoreCase))
                    {
                        continue; // Kestrel puts :authority there; the view adds it as Host itself
                    }

                    foreach (var value in values)
                    {
                        headers.Add(new(name, value ?? string.Empty));
                    }
                }

                var view = new HttpRequestView
                {
                    Method = request.Method,
                    Path = request.Path.ToUriComponent(),
                    Query = request.QueryString.HasValue ? request.QueryString.Value![1..] : null,
                    Headers = headers,
                    HttpVersion = request.Protocol == "HTTP/2" ? HttpVersion.Version20 : request.Protocol == "HTTP/1.0" ? HttpVersion.Version10 : HttpVersion.Version11,
                    Authority = request.Protocol == "HTTP/2" ? request.Host.Value : null,
                };
                MirrorCopies.OfRequest(route.Mirrors, view, body, context, port, connection.Client);
                var choice = subscriptions?.Choose(view, body) ?? RouteChoice.None;
                if (choice.Winner is { } winner && hub.Find(winner.SessionId) is { } session)
                {
                    foreach (var other in choice.NewOverlaps)
                    {
                        hub.Find(other.SessionId)?.Notify($"A request on port {port} ({request.Method} {request.Path}) matched your filter too; {session.Name}'s earlier subscription took it (the earliest subscription wins).");
                    }

                    await DispatchAsync(session, new HttpWork(context, port, connection.Client), context.RequestAborted).ConfigureAwait(false);
                    return;
                }
            }
        }

        await passThrough.ForwardAsync(context, connection.Original).ConfigureAwait(false);
    }

    /// <summary>True when a <c>User-Agent</c> header of the request is the kubelet's (<see cref="KubeProbeHead.IsKubeProbeUserAgent"/>).</summary>
    private static bool IsKubeProbe(HttpRequest request)
    {
        foreach (var value in request.Headers.UserAgent)
        {
            if (value is not null && KubeProbeHead.IsKubeProbeUserAgent(value))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Hands <paramref name="work"/> to an idle Serve call of <paramref name="session"/> (a 502 with the reason when none comes in time) and waits until it is done.</summary>
    private static async Task DispatchAsync(IncomingSession session, HttpWork work, CancellationToken cancellationToken)
    {
        if (!await session.DispatchAsync(work, IncomingHub.ServeWait, cancellationToken).ConfigureAwait(false))
        {
            await work.FailAsync($"no idle Serve call of {session.Name} within {IncomingHub.ServeWait.TotalSeconds} s").ConfigureAwait(false);
        }

        await work.Done.ConfigureAwait(false);
    }

    /// <summary>Forwards the front's log lines to the agent's logger factory.</summary>
    private sealed class ForwardingProvider(ILoggerFactory factory) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => factory.CreateLogger(categoryName);

        public void Dispose()
        {
        }
    }
}

/// <summary>The original destination and client of a redirected connection, for its requests.</summary>
internal sealed record OriginalDestinationFeature(IPEndPoint Original, IPEndPoint? Client);
