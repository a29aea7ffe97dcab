using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Doppel.Protocol;
using Doppel.Protocol.V1;
using Doppel.Session.Remote;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Doppel.Session.Incoming;

/// <summary>
/// Delivers the agent's work on one Serve call to the local app (issue 10 item 6):
/// <code>
///   request_head, data…, request_end ─► HttpClient (pooled; h2c for HTTP/2) ─► app
///   response_head, data…, response_end {trailers} ◄───────────────────────────┘
///   101 / 2xx CONNECT ─► byte relay of the upgraded stream, then the call ends
///   tcp_open, data/half_close ─► socket to the app ─► data/half_close back, then the call ends
/// </code>
/// Host/:authority is kept; X-Forwarded-For and Forwarded name the original client. A
/// failed delivery (nothing listening, a reset before the response head) answers
/// <c>error</c>, for which the agent gives the client 502 (HTTP) or a reset (TCP). A whole
/// TCP connection's original client is recorded in <see cref="DeliveredClients"/> for the app's getpeername.
/// Mirrored work is delivered the same way; only the response head and end go back, and a
/// mirrored connection's half-close waits for the app's answer (<see cref="MirroredHalfClose"/>).
/// A request_head with end set is a whole request (its body inline, nothing more on the call);
/// with <c>wholeResponses</c> (the agent's welcome said whole_messages) a response that has
/// ended within one chunk goes back as one response_head with body and end.
/// An HTTP/2 request to an app that refuses h2c goes again over HTTP/1.1, and an HTTP/1.x request
/// to an app that speaks only h2c goes again over HTTP/2 (<see cref="LocalAppProtocols"/>); the
/// response still reaches the client in the client's version (the agent serves the client).
/// </summary>
internal sealed class ServeWork(HttpMessageInvoker http, Func<int, IPEndPoint?> appFor, IncomingCounts counts, ILogger logger, DeliveredClients? delivered = null, bool wholeResponses = false, LocalAppProtocols? protocols = null)
{
    // EPROTO: the request cannot be had in a version the app speaks.
    private const int EPROTO = 71;

    private readonly LocalAppProtocols _protocols = protocols ?? new LocalAppProtocols();

    // Hop-by-hop headers (RFC 9110 7.6.1) and the ones the replay sets itself.
    private static readonly HashSet<string> s_requestSkipped = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "TE", "Expect", "Content-Length", "HTTP2-Settings",
    };

    private static readonly HashSet<string> s_responseSkipped = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding",
    };

    /// <summary>
    /// Serves work items on one call, in sequence, until the call ends, an item ends it (an
    /// upgrade, a TCP connection, a failure), or <paramref name="again"/> says the call is not
    /// wanted idle any longer (it is called when an item has left the call idle). <paramref name="busy"/> is called when an item arrives.
    /// </summary>
    public async Task ServeCallAsync(
        IAsyncStreamReader<ServeServerMessage> reader,
        IAsyncStreamWriter<ServeClientMessage> writer,
        Action busy,
        Func<bool> again,
        CancellationToken cancellationToken)
    {
        while (await reader.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            busy();
            var first = reader.Current;
            var more = first.MessageCase switch
            {
                ServeServerMessage.MessageOneofCase.RequestHead => await ServeHttpAsync(first.RequestHead, reader, writer, cancellationToken).ConfigureAwait(false),
                ServeServerMessage.MessageOneofCase.TcpOpen => await ServeTcpAsync(first.TcpOpen, reader, writer, cancellationToken).ConfigureAwait(false),
                _ => Unexpected(first),
            };
            if (!more || !again())
            {
                return;
            }
        }
    }

    /// <summary>One HTTP request; true when the call can carry the next one.</summary>
    public async Task<bool> ServeHttpAsync(HttpRequestHead head, IAsyncStreamReader<ServeServerMessage> reader, IAsyncStreamWriter<ServeClientMessage> writer, CancellationToken cancellationToken)
    {
        counts.Add((int)head.Port, head.Mirror, http: true);
        var body = head.End is null ? new ServeRequestContent(reader) : new ServeRequestContent(reader, head.Body);
        if (appFor((int)head.Port) is not { } app)
        {
            await FailAsync(writer, 111, $"nothing listens for port {head.Port} in this session any more", cancellationToken).ConfigureAwait(false);
            return false;
        }

        HttpRequestMessage request;
        HttpResponseMessage response;
        try
        {
            (request, response) = await SendAsync(head, app, body, cancellationToken).ConfigureAwait(false);
        }
        catch (UndeliverableRequestException e)
        {
            IncomingLog.DeliveryFailed(logger, head.Id, head.Method, head.Target, app, e.Message);
            counts.Failed();
            await FailAsync(writer, EPROTO, e.Message, cancellationToken).ConfigureAwait(false);
            return false;
        }
        catch (HttpRequestException e)
        {
            IncomingLog.DeliveryFailed(logger, head.Id, head.Method, head.Target, app, e.Message);
            counts.Failed();
            await FailAsync(writer, Errno(e), $"the local app at {app} did not answer: {e.Message}", cancellationToken).ConfigureAwait(false);
            return false;
        }

        using (request)
        using (response)
        {
            var upgraded = response.StatusCode == HttpStatusCode.SwitchingProtocols
                || (head.Method == "CONNECT" && response.IsSuccessStatusCode);
            if (upgraded)
            {
                await writer.WriteAsync(new ServeClientMessage { ResponseHead = ResponseHead(response) }, cancellationToken).ConfigureAwait(false);
                if (!await body.FinishAsync(cancellationToken).ConfigureAwait(false))
                {
                    return false;
                }

                var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                await using (stream.ConfigureAwait(false))
                {
                    await RelayUpgradedAsync(head, stream, reader, writer, cancellationToken).ConfigureAwait(false);
                }

                return false;
            }

            try
            {
                await SendResponseAsync(response, writer, discard: head.Mirror, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or HttpRequestException)
            {
                // Before the head: the agent answers 502; after it, the agent ends the client's response on the error.
                IncomingLog.DeliveryFailed(logger, head.Id, head.Method, head.Target, app, e.Message);
                counts.Failed();
                await FailAsync(writer, 104, $"the local app at {app} failed in the middle of its response: {e.Message}", cancellationToken).ConfigureAwait(false);
                return false;
            }
        }

        return await body.FinishAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Sends the replay of <paramref name="head"/> to <paramref name="app"/>, in the version the app
    /// is known to speak (<see cref="HttpAppProtocols.VersionFor"/>): an HTTP/2 request to an app
    /// that refused h2c goes over HTTP/1.1, an HTTP/1.x request to an app that speaks only h2c over
    /// HTTP/2. When the request fails the way it fails at an app that does not speak its version,
    /// it goes again in the other one if its body can be sent again
    /// (<see cref="ServeRequestContent.TryRewindAsync"/>); else, and for an HTTP/1.1 upgrade or a
    /// CONNECT that HTTP/2 cannot carry, <see cref="UndeliverableRequestException"/> says why (later
    /// requests go in the app's version at once). Returns the request that got the response (to
    /// dispose with it).
    /// </summary>
    private async Task<(HttpRequestMessage Request, HttpResponseMessage Response)> SendAsync(HttpRequestHead head, IPEndPoint app, ServeRequestContent body, CancellationToken cancellationToken)
    {
        var versions = _protocols.Versions;
        var http2 = IsHttp2(head);
        var convertTo = versions.VersionFor(app, http2);
        if (convertTo == HttpVersion.Version20 && NotConvertible(head) is { } reason)
        {
            throw Undeliverable(app, reason);
        }

        var request = Request(head, app, body, convertTo);
        try
        {
            var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (http2)
            {
                if (response.Version == HttpVersion.Version20)
                {
                    versions.AnsweredH2c(app);
                }

                return (request, response);
            }

            // An HTTP/2-only Kestrel answers HTTP/1.x with a 400 of its own (a status compare on the normal path).
            if (convertTo is not null || response.StatusCode != HttpStatusCode.BadRequest || !await versions.RefusedHttp1Async(app, response, cancellationToken).ConfigureAwait(false))
            {
                return (request, response);
            }

            response.Dispose();
            convertTo = await ConvertToHttp2Async(head, app, body).ConfigureAwait(false);
        }
        catch (HttpRequestException e) when (convertTo is null && !cancellationToken.IsCancellationRequested)
        {
            if (http2)
            {
                if (!await versions.RefusedH2cAsync(app, e, cancellationToken).ConfigureAwait(false))
                {
                    request.Dispose();
                    throw;
                }

                IncomingLog.H2cRefused(logger, app);
                if (!await body.TryRewindAsync().ConfigureAwait(false))
                {
                    request.Dispose();
                    throw new UndeliverableRequestException($"the local app at {app} does not speak HTTP/2 over cleartext (h2c), and this request's body was already on its way to it; later HTTP/2 requests reach it over HTTP/1.1");
                }

                convertTo = HttpVersion.Version11;
            }
            else
            {
                if (!await versions.RefusedHttp1Async(app, e, cancellationToken).ConfigureAwait(false))
                {
                    request.Dispose();
                    throw;
                }

                try
                {
                    convertTo = await ConvertToHttp2Async(head, app, body).ConfigureAwait(false);
                }
                catch (UndeliverableRequestException)
                {
                    request.Dispose();
                    throw;
                }
            }
        }
        catch (UndeliverableRequestException)
        {
            request.Dispose();
            throw;
        }

        // The refused request is not disposed: that would dispose the body, which the request in the other version sends.
        request = Request(head, app, body, convertTo);
        try
        {
            return (request, await http.SendAsync(request, cancellationToken).ConfigureAwait(false));
        }
        catch
        {
            request.Dispose();
            throw;
        }
    }

    /// <summary>
    /// HTTP/2, for an HTTP/1.x request that <paramref name="app"/> (found to speak only h2c) refused;
    /// <see cref="UndeliverableRequestException"/> when HTTP/2 cannot carry it or its body was already sent.
    /// </summary>
    private async Task<Version> ConvertToHttp2Async(HttpRequestHead head, IPEndPoint app, ServeRequestContent body)
    {
        IncomingLog.H2cOnly(logger, app);
        if (NotConvertible(head) is { } why)
        {
            throw Undeliverable(app, why);
        }

        if (!await body.TryRewindAsync().ConfigureAwait(false))
        {
            throw Undeliverable(app, "its body was already on its way to the app over HTTP/1.1 (later HTTP/1.1 requests reach it over HTTP/2)");
        }

        return HttpVersion.Version20;
    }

    private static bool IsHttp2(HttpRequestHead head) => head.Version is "HTTP/2" or "HTTP/2.0";

    /// <summary>Why an HTTP/1.x request cannot go over HTTP/2; null when it can (an <c>Upgrade: h2c</c> is dropped: HTTP/2 is what it asks for).</summary>
    private static string? NotConvertible(HttpRequestHead head)
    {
        if (head.Method == "CONNECT")
        {
            return "HTTP/2 cannot carry an HTTP/1.1 CONNECT tunnel";
        }

        foreach (var header in head.Headers)
        {
            if (header.Name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase) && !header.Value.Trim().Equals("h2c", StringComparison.OrdinalIgnoreCase))
            {
                return $"HTTP/2 cannot carry an HTTP/1.1 upgrade (Upgrade: {header.Value})";
            }
        }

        return null;
    }

    private UndeliverableRequestException Undeliverable(IPEndPoint app, string reason)
    {
        _protocols.WarnOnce(app, $"the local app at {app} speaks only HTTP/2 over cleartext (h2c); stolen HTTP/1.1 requests are converted to HTTP/2 for it, but one could not be ({reason}) and its client got a 502; let the app take HTTP/1.1 too (Kestrel: Protocols = Http1AndHttp2) for such requests.");
        return new UndeliverableRequestException($"the local app at {app} speaks only HTTP/2 (h2c) and the request could not be converted: {reason}");
    }

    /// <summary>One whole TCP connection; the call ends with it (false).</summary>
    public async Task<bool> ServeTcpAsync(IncomingTcpOpen open, IAsyncStreamReader<ServeServerMessage> reader, IAsyncStreamWriter<ServeClientMessage> writer, CancellationToken cancellationToken)
    {
        counts.Add((int)open.Port, open.Mirror, http: false);
        if (appFor((int)open.Port) is not { } app)
        {
            await FailAsync(writer, 111, $"nothing listens for port {open.Port} in this session any more", cancellationToken).ConfigureAwait(false);
            return false;
        }

        using var socket = new Socket(app.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        IPEndPoint? relay = null;
        try
        {
            // Bound first, so the app's getpeername is answered even right after its accept.
            socket.Bind(new IPEndPoint(app.Address, 0));
            relay = (IPEndPoint)socket.LocalEndPoint!;
            if (delivered is not null && open.Client is { } client && client.Ip.Length is 4 or 16)
            {
                delivered.Add(relay, client.ToIPEndPoint());
            }

            await socket.ConnectAsync(app, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            if (relay is not null)
            {
                delivered?.Remove(relay);
            }

            IncomingLog.TcpDeliveryFailed(logger, open.Id, app, e.Message);
            counts.Failed();
            await FailAsync(writer, Errno(e.SocketErrorCode), $"the local app at {app} did not accept: {e.Message}", cancellationToken).ConfigureAwait(false);
            return false;
        }

        // A mirrored client's half-close waits for the app's answer (MirroredHalfClose).
        var held = open.Mirror ? new MirroredHalfClose(socket) : null;
        using var callEnded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var heldShutdown = Task.CompletedTask;
        try
        {
            await RelayAsync(
                $"incoming connection {open.Id} to {app}",
                open.Mirror,
                held is null ? (buffer, ct) => socket.ReceiveAsync(buffer, SocketFlags.None, ct) : (buffer, ct) => ReceiveNotingAsync(socket, held, buffer, ct),
                held is null ? (data, ct) => TcpRelay.SendAllAsync(socket, data, ct) : (data, ct) => SendNotingAsync(socket, held, data, ct),
                held is null ? () => socket.Shutdown(SocketShutdown.Send) : () => heldShutdown = held.ShutdownWhenAnsweredAsync(callEnded.Token),
                () => TcpRelay.Reset(socket),
                reader,
                writer,
                cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await callEnded.CancelAsync().ConfigureAwait(false);
            await heldShutdown.ConfigureAwait(false);
            delivered?.Remove(relay!);
        }

        return false;
    }

    private static async ValueTask<int> ReceiveNotingAsync(Socket socket, MirroredHalfClose held, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var received = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        if (received > 0)
        {
            held.Answered();
        }

        return received;
    }

    private static async ValueTask SendNotingAsync(Socket socket, MirroredHalfClose held, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        held.Wrote();
        await TcpRelay.SendAllAsync(socket, data, cancellationToken).ConfigureAwait(false);
        held.Wrote();
    }

    /// <summary>
    /// Copies an upgraded HTTP/1.1 connection both ways. Such a stream cannot be half-closed: the
    /// client's half-close is noted, and the connection to the app closes once the app has
    /// finished too.
    /// </summary>
    private Task RelayUpgradedAsync(HttpRequestHead head, Stream stream, IAsyncStreamReader<ServeServerMessage> reader, IAsyncStreamWriter<ServeClientMessage> writer, CancellationToken cancellationToken) => RelayAsync(
        $"upgraded request {head.Id} ({head.Method} {head.Target})",
        head.Mirror,
        (buffer, ct) => stream.ReadAsync(buffer, ct),
        async (data, ct) =>
        {
            await stream.WriteAsync(data, ct).ConfigureAwait(false);
            await stream.FlushAsync(ct).ConfigureAwait(false);
        },
        () => { },
        stream.Dispose,
        reader,
        writer,
        cancellationToken);

    /// <summary>
    /// The byte relay of a whole connection or an upgrade (<see cref="ByteRelay"/>'s loops) until
    /// both sides have finished; when one side fails, the other is torn down
    /// (<paramref name="abort"/>) rather than left waiting.
    /// </summary>
    private async Task RelayAsync(
        string what,
        bool mirror,
        Func<Memory<byte>, CancellationToken, ValueTask<int>> receive,
        Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write,
        Action halfClose,
        Action abort,
        IAsyncStreamReader<ServeServerMessage> reader,
        IAsyncStreamWriter<ServeClientMessage> writer,
        CancellationToken cancellationToken)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var up = ByteRelay.ToAgentAsync(
            receive,
            (data, ct) => Write(writer, new ServeClientMessage { Data = data }, mirror, ct),
            ct => Write(writer, new ServeClientMessage { HalfClose = new TcpHalfClose() }, mirror, ct),
            reason => IncomingLog.RelaySideEnded(logger, what, "app", reason),
            cancel.Token);
        var down = ByteRelay.FromAgentAsync(
            reader,
            Classify,
            write,
            halfClose,
            message => IncomingLog.RelaySideEnded(logger, what, "client", message.Error.Message),
            reason => IncomingLog.RelaySideEnded(logger, what, "agent", reason),
            cancel.Token,
            endAtHalfClose: true);
        var first = await Task.WhenAny(up, down).ConfigureAwait(false);
        if (!await first.ConfigureAwait(false))
        {
            abort();
            await cancel.CancelAsync().ConfigureAwait(false);
        }

        await Task.WhenAll(up, down).ConfigureAwait(false);
    }

    private static (ByteRelay.Kind Kind, ReadOnlyMemory<byte> Data) Classify(ServeServerMessage message) => message.MessageCase switch
    {
        ServeServerMessage.MessageOneofCase.Data => (ByteRelay.Kind.Data, message.Data.Memory),
        ServeServerMessage.MessageOneofCase.HalfClose => (ByteRelay.Kind.HalfClose, default),
        ServeServerMessage.MessageOneofCase.Error => (ByteRelay.Kind.Error, default),
        _ => (ByteRelay.Kind.Other, default(ReadOnlyMemory<byte>)),
    };

    /// <summary>Mirrored work's bytes are not sent back: the agent would discard them.</summary>
    private static Task Write(IAsyncStreamWriter<ServeClientMessage> writer, ServeClientMessage message, bool mirror, CancellationToken cancellationToken) =>
        mirror && message.MessageCase == ServeClientMessage.MessageOneofCase.Data ? Task.CompletedTask : writer.WriteAsync(message, cancellationToken);

    /// <summary>
    /// The replayed request: same method, target, version and headers, to the app's address;
    /// <paramref name="convertTo"/>: the version it goes in instead of its own (HTTP/1.1 for an
    /// HTTP/2 request to an app that refused h2c, HTTP/2 for an HTTP/1.x request to an h2c-only app).
    /// </summary>
    internal static HttpRequestMessage Request(HttpRequestHead head, IPEndPoint app, ServeRequestContent body, Version? convertTo = null)
    {
        var http2 = IsHttp2(head);
        var version = convertTo ?? (http2 ? HttpVersion.Version20 : head.Version == "HTTP/1.0" ? HttpVersion.Version10 : HttpVersion.Version11);
        var request = new HttpRequestMessage(Method(head.Method), new Uri($"http://{app}{PathAndQuery(head.Target)}"))
        {
            Version = version,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        var headers = head.Headers;
        var upgrade = !http2 && version == HttpVersion.Version11 && headers.FirstOrDefault(h => h.Name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase)) is not null;
        var contentLength = headers.FirstOrDefault(h => h.Name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))?.Value;
        var chunked = headers.Any(h => h.Name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase));

        // HTTP/1.x says whether a body follows; an HTTP/2 request may stream one without a length
        // (sent chunked when it goes to an HTTP/1.1-only app). A whole request (request_head with
        // end) has exactly the body it carries.
        var hasBody = head.End is not null ? !head.Body.IsEmpty : contentLength is { } length ? length.Trim() != "0" : chunked || http2;
        if (hasBody)
        {
            request.Content = body;
            if (contentLength is not null && long.TryParse(contentLength, out var bytes))
            {
                body.Headers.ContentLength = bytes;
            }
        }

        var host = head.Authority;
        foreach (var header in headers)
        {
            if (header.Name.Equals("Host", StringComparison.OrdinalIgnoreCase))
            {
                host = host.Length > 0 ? host : header.Value;
                continue;
            }

            if (header.Name.Equals("TE", StringComparison.OrdinalIgnoreCase) && header.Value.Trim().Equals("trailers", StringComparison.OrdinalIgnoreCase))
            {
                request.Headers.TryAddWithoutValidation("TE", "trailers");
                continue;
            }

            if (upgrade && (header.Name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase) || header.Name.Equals("Connection", StringComparison.OrdinalIgnoreCase)))
            {
                request.Headers.TryAddWithoutValidation(header.Name, header.Value);
                continue;
            }

            if (s_requestSkipped.Contains(header.Name))
            {
                continue;
            }

            if (!request.Headers.TryAddWithoutValidation(header.Name, header.Value) && request.Content is not null)
            {
                request.Content.Headers.TryAddWithoutValidation(header.Name, header.Value);
            }
        }

        if (host.Length > 0)
        {
            request.Headers.Host = host;
        }

        if (head.Client is { } client && client.Ip.Length is 4 or 16)
        {
            var address = client.ToIPEndPoint().Address;
            request.Headers.TryAddWithoutValidation("X-Forwarded-For", address.ToString());
            var forwardedFor = address.AddressFamily == AddressFamily.InterNetworkV6 ? $"\"[{address}]\"" : address.ToString();
            request.Headers.TryAddWithoutValidation("Forwarded", $"for={forwardedFor};proto={(head.Scheme.Length > 0 ? head.Scheme : "http")}");
        }

        return request;
    }

    // The shared instance of a well-known method (SocketsHttpHandler writes it from cached bytes); Parse alone would also upper-case "get".
    private static HttpMethod Method(string method) => HttpMethod.Parse(method) is { } known && known.Method == method ? known : new HttpMethod(method);

    private static string PathAndQuery(string target)
    {
        if (target.StartsWith('/'))
        {
            return target;
        }

        return Uri.TryCreate(target, UriKind.Absolute, out var absolute) ? absolute.PathAndQuery : "/";
    }

    private static HttpResponseHead ResponseHead(HttpResponseMessage response)
    {
        var head = new HttpResponseHead { Status = (uint)response.StatusCode };
        Add(head, response.Headers.NonValidated, keepUpgrade: response.StatusCode == HttpStatusCode.SwitchingProtocols);
        Add(head, response.Content.Headers.NonValidated, keepUpgrade: false);
        return head;

        static void Add(HttpResponseHead head, System.Net.Http.Headers.HttpHeadersNonValidated headers, bool keepUpgrade)
        {
            foreach (var (name, values) in headers)
            {
                if (s_responseSkipped.Contains(name) && !(keepUpgrade && name.Equals("Connection", StringComparison.OrdinalIgnoreCase)))
                {
                    continue;
                }

                foreach (var value in values)
                {
                    head.Headers.Add(new HttpHeader { Name = name, Value = value });
                }
            }
        }
    }

    /// <summary>
    /// The app's response: head, body in chunks of at most <see cref="Relay.ChunkSize"/> as they
    /// come, end with its trailers. When the agent takes whole messages, the body is first read
    /// ahead while it is already there (reads that complete at once; all of it when its
    /// Content-Length is at most one chunk): a response that ends within that goes as one
    /// response_head with body and end. Mirrored work's body is read and discarded, then its head
    /// and end go back (the agent only waits for the end).
    /// </summary>
    private async Task SendResponseAsync(HttpResponseMessage response, IAsyncStreamWriter<ServeClientMessage> writer, bool discard, CancellationToken cancellationToken)
    {
        var head = ResponseHead(response);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        // Pooled: each message's bytes are serialized by the time its WriteAsync completes, so the
        // buffer is free again after every write (a fresh 64 KiB array per request kept the
        // session's GC busy at a few thousand requests/s).
        var buffer = ArrayPool<byte>.Shared.Rent(Relay.ChunkSize);
        var readPending = false;
        try
        {
            await using (stream.ConfigureAwait(false))
            {
                var filled = 0;
                ValueTask<int>? pending = null;
                if (wholeResponses)
                {
                    var bounded = discard || response.Content.Headers.ContentLength <= Relay.ChunkSize;
                    while (discard || filled < Relay.ChunkSize)
                    {
                        var read = stream.ReadAsync(buffer.AsMemory(discard ? 0 : filled, Relay.ChunkSize - (discard ? 0 : filled)), cancellationToken);
                        if (!read.IsCompleted && !bounded)
                        {
                            pending = read;
                            readPending = true;
                            break;
                        }

                        var n = await read.ConfigureAwait(false);
                        if (n == 0)
                        {
                            head.Body = filled == 0 ? ByteString.Empty : Relay.Wrap(buffer, filled);
                            head.End = ResponseEnd(response);
                            await writer.WriteAsync(new ServeClientMessage { ResponseHead = head }, cancellationToken).ConfigureAwait(false);
                            return;
                        }

                        filled += discard ? 0 : n;
                    }
                }

                await writer.WriteAsync(new ServeClientMessage { ResponseHead = head }, cancellationToken).ConfigureAwait(false);
                var more = true;
                if (filled > 0)
                {
                    await writer.WriteAsync(new ServeClientMessage { Data = Relay.Wrap(buffer, filled) }, cancellationToken).ConfigureAwait(false);
                }

                if (pending is { } read2)
                {
                    var n = await read2.ConfigureAwait(false);
                    readPending = false;
                    more = n > 0;
                    if (more && !discard)
                    {
                        await writer.WriteAsync(new ServeClientMessage { Data = Relay.Wrap(buffer.AsMemory(filled, n)) }, cancellationToken).ConfigureAwait(false);
                    }
                }

                int m;
                while (more && (m = await stream.ReadAsync(buffer.AsMemory(0, Relay.ChunkSize), cancellationToken).ConfigureAwait(false)) > 0)
                {
                    if (!discard)
                    {
                        await writer.WriteAsync(new ServeClientMessage { Data = Relay.Wrap(buffer, m) }, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
        }
        finally
        {
            if (!readPending)
            {
                ArrayPool<byte>.Shared.Return(buffer); // else a read may still fill it: left to the GC
            }
        }

        await writer.WriteAsync(new ServeClientMessage { ResponseEnd = ResponseEnd(response) }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The response's end: its trailers (read once the body has been read to its end).</summary>
    private static HttpMessageEnd ResponseEnd(HttpResponseMessage response)
    {
        var end = new HttpMessageEnd();
        foreach (var (name, values) in response.TrailingHeaders.NonValidated)
        {
            foreach (var value in values)
            {
                end.Trailers.Add(new HttpHeader { Name = name, Value = value });
            }
        }

        return end;
    }

    private static Task FailAsync(IAsyncStreamWriter<ServeClientMessage> writer, int errno, string message, CancellationToken cancellationToken) =>
        writer.WriteAsync(new ServeClientMessage { Error = new PosixError { Errno = errno, Message = message } }, cancellationToken);

    private bool Unexpected(ServeServerMessage message)
    {
        IncomingLog.UnexpectedWork(logger, message.MessageCase.ToString());
        return false;
    }

    private static int Errno(HttpRequestException e) => e.InnerException is SocketException s ? Errno(s.SocketErrorCode) : 5;

    private static int Errno(SocketError error) => error switch
    {
        SocketError.ConnectionRefused => 111,
        SocketError.ConnectionReset => 104,
        SocketError.TimedOut => 110,
        SocketError.HostUnreachable => 113,
        SocketError.NetworkUnreachable => 101,
        _ => 5,
    };
}
