using System.Net;
using System.Net.Sockets;
using Doppel.Protocol.Incoming;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Doppel.Agent.Incoming;

/// <summary>
/// Requests of a filtered port that no filter took, forwarded to the app at the connection's
/// original destination over pooled connections (one <see cref="SocketsHttpHandler"/>, whose
/// connections are marked sockets in the target's namespace so the redirect lets them through),
/// with the client's HTTP version (h2c stays h2c). Bodies both ways are streamed (request
/// chunks flushed as they come, <see cref="StreamingRequestContent"/>: duplex gRPC); response
/// trailers (gRPC's grpc-status) are copied. An app that refuses h2c (judged by
/// <see cref="Doppel.Protocol.Incoming.HttpAppProtocols"/>, as the session judges local apps) gets
/// HTTP/2 clients' requests over HTTP/1.1. The app unreachable: 502 with one line. Upgrade
/// requests (WebSocket, ...) go on their own connections (<c>HttpPassThrough.Upgrade.cs</c>).
/// </summary>
internal sealed partial class HttpPassThrough : IDisposable
{
    private readonly HttpMessageInvoker _client;

    // What the pod's apps showed of h2c: an app that refused it gets its HTTP/2 clients'
    // requests over HTTP/1.1. Only a protocol failure and a probe judge an app: a refused or
    // reset connection (the app restarting) says nothing, so h2c is never given up for it.
    private readonly HttpAppProtocols _protocols;

    public HttpPassThrough(IncomingHub hub)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            ConnectCallback = (context, cancellationToken) => ConnectAsync(hub, context, cancellationToken),
        };
        _client = new HttpMessageInvoker(handler);
        _upgrades = UpgradeClient(hub);
        _protocols = new HttpAppProtocols((app, cancellationToken) => new ValueTask<Socket>(hub.ConnectToAppAsync(app, cancellationToken)));
    }

    /// <summary>
    /// Forwards the request to <paramref name="destination"/> and copies the response back: an
    /// HTTP/2 client's request over h2c unless the app refused h2c before. When an HTTP/2 request
    /// fails the way it fails at an HTTP/1.1-only app (<see cref="HttpAppProtocols.RefusedH2cAsync"/>),
    /// it goes again over HTTP/1.1 — unless its body had started to go to the app (those bytes are
    /// read from the client once and gone): then the client gets a 502 saying so, and the later
    /// requests go over HTTP/1.1 at once. A request with a body to an app not judged yet waits for
    /// the judging probe first (<see cref="HttpAppProtocols.SpeaksH2cAsync"/>), so that 502 is left
    /// for an app the probe could not reach.
    /// </summary>
    public async Task ForwardAsync(HttpContext context, IPEndPoint destination)
    {
        if (UpgradedRelay.Upgradable(context) is { } upgrade)
        {
            await ForwardUpgradeAsync(context, upgrade, destination).ConfigureAwait(false);
            return;
        }

        var http2 = context.Request.Protocol == "HTTP/2" && _protocols.VersionFor(destination, http2: true) is null;
        HttpResponseMessage response;
        try
        {
            if (http2 && context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true)
            {
                // A body goes once: an app not known to take h2c is judged before it starts to go
                // (one probe per app), so an HTTP/1.1-only app gets it over HTTP/1.1 from the start.
                http2 = await _protocols.SpeaksH2cAsync(destination, context.RequestAborted).ConfigureAwait(false) != false;
            }

            var message = Message(context, destination, http2 ? HttpVersion.Version20 : null, upgrade: false);
            try
            {
                response = await _client.SendAsync(message, context.RequestAborted).ConfigureAwait(false);
            }
            catch (HttpRequestException e) when (http2 && !context.RequestAborted.IsCancellationRequested)
            {
                if (!await _protocols.RefusedH2cAsync(destination, e, context.RequestAborted).ConfigureAwait(false))
                {
                    throw;
                }

                if (message.Content is StreamingRequestContent { Started: true })
                {
                    await AnswerAsync(context, $"doppel: the pod's app at {destination} does not speak HTTP/2 over cleartext (h2c), and this request's body had already started to go to it, so it cannot be sent again over HTTP/1.1; later HTTP/2 requests reach it over HTTP/1.1\n").ConfigureAwait(false);
                    return;
                }

                response = await SendAsync(context, destination, null).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            await AnswerUnreachableAsync(context, destination, e).ConfigureAwait(false);
            return;
        }

        await CopyResponseAsync(context, response).ConfigureAwait(false);
    }

    private static async Task AnswerAsync(HttpContext context, string line)
    {
        if (!context.RequestAborted.IsCancellationRequested && !context.Response.HasStarted)
        {
            context.Response.StatusCode = StatusCodes.Status502BadGateway;
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync(line).ConfigureAwait(false);
        }
    }

    private static async Task AnswerUnreachableAsync(HttpContext context, IPEndPoint destination, Exception e)
    {
        if (!context.RequestAborted.IsCancellationRequested)
        {
            context.Response.StatusCode = StatusCodes.Status502BadGateway;
            await context.Response.WriteAsync($"doppel: the pod's app at {destination} could not be reached: {e.Message}\n").ConfigureAwait(false);
        }
    }

    private async Task<HttpResponseMessage> SendAsync(HttpContext context, IPEndPoint destination, Version? version)
        => await _client.SendAsync(Message(context, destination, version, upgrade: false), context.RequestAborted).ConfigureAwait(false);

    // The request to the app; an upgrade request keeps Upgrade and Connection and has no body (its body is the upgraded stream).
    private static HttpRequestMessage Message(HttpContext context, IPEndPoint destination, Version? version, bool upgrade)
    {
        var request = context.Request;
        var authority = destination.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{destination.Address}]:{destination.Port}" : destination.ToString();
        var message = new HttpRequestMessage(Method(request.Method), new Uri($"http://{authority}{request.Path.ToUriComponent()}{request.QueryString.ToUriComponent()}"))
        {
            Version = version ?? (request.Protocol == "HTTP/1.0" ? HttpVersion.Version10 : HttpVersion.Version11),
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        if (!upgrade && context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true)
        {
            message.Content = new StreamingRequestContent(request.BodyReader);
        }

        foreach (var (name, values) in request.Headers)
        {
            if (HttpWork.IsHopByHop(name) && !(name.Equals("TE", StringComparison.OrdinalIgnoreCase) && values == "trailers") && !(upgrade && UpgradedRelay.IsUpgradeHeader(name)))
            {
                continue;
            }

            if (name.Equals("Host", StringComparison.OrdinalIgnoreCase))
            {
                message.Headers.Host = values.ToString();
            }
            else if (!message.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                message.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        return message;
    }

    // The shared instance of a well-known method (SocketsHttpHandler writes it from cached bytes); Parse alone would also upper-case "get".
    private static HttpMethod Method(string method) => HttpMethod.Parse(method) is { } known && known.Method == method ? known : new HttpMethod(method);

    private static async Task CopyResponseAsync(HttpContext context, HttpResponseMessage response)
    {
        using (response)
        {
            context.Response.StatusCode = (int)response.StatusCode;
            // As received (NonValidated): no parsing and re-rendering of each header on the way through.
            CopyHeaders(context.Response.Headers, response.Headers.NonValidated);
            CopyHeaders(context.Response.Headers, response.Content.Headers.NonValidated);

            try
            {
                await using var body = await response.Content.ReadAsStreamAsync(context.RequestAborted).ConfigureAwait(false);
                await body.CopyToAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
                if (context.Response.SupportsTrailers())
                {
                    foreach (var (name, values) in response.TrailingHeaders.NonValidated)
                    {
                        context.Response.AppendTrailer(name, values.Count == 1 ? values.ToString() : values.ToArray());
                    }
                }
            }
            catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
            {
                context.Abort();
            }
        }
    }

    private static void CopyHeaders(IHeaderDictionary to, System.Net.Http.Headers.HttpHeadersNonValidated from)
    {
        foreach (var (name, values) in from)
        {
            if (!HttpWork.IsHopByHop(name))
            {
                to.Append(name, values.Count == 1 ? values.ToString() : values.ToArray());
            }
        }
    }

    public void Dispose()
    {
        _client.Dispose();
        _upgrades.Dispose();
    }
}
