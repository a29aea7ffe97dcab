using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Doppel.Agent.Incoming;

/// <summary>
/// Requests of a filtered port that no filter took, forwarded to the app at the connection's
/// original destination over pooled connections (one <see cref="SocketsHttpHandler"/>, whose
/// connections are marked sockets in the target's namespace so the redirect lets them through),
/// with the client's HTTP version (h2c stays h2c). Bodies both ways are streamed; response
/// trailers (gRPC's grpc-status) are copied. The app unreachable: 502 with one line.
/// </summary>
internal sealed class HttpPassThrough : IDisposable
{
    private readonly HttpMessageInvoker _client;

    // Apps that refused h2c prior knowledge: their HTTP/2 clients' requests go over HTTP/1.1.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<IPEndPoint, bool> _http1Only = new();

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
            ConnectCallback = async (context, cancellationToken) =>
            {
                var destination = new IPEndPoint(IPAddress.Parse(context.DnsEndPoint.Host), context.DnsEndPoint.Port);
                var socket = await hub.ConnectToAppAsync(destination, cancellationToken).ConfigureAwait(false);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        };
        _client = new HttpMessageInvoker(handler);
    }

    /// <summary>Forwards the request (HTTP/2 clients' requests over h2c unless the app refused it before; an HTTP/1.1-only app gets HTTP/1.1) to <paramref name="destination"/> and copies the response back.</summary>
    public async Task ForwardAsync(HttpContext context, IPEndPoint destination)
    {
        var http2 = context.Request.Protocol == "HTTP/2" && !_http1Only.ContainsKey(destination);
        var hasBody = context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true;
        HttpResponseMessage? response = null;
        if (http2 && !hasBody)
        {
            try
            {
                response = await SendAsync(context, destination, HttpVersion.Version20).ConfigureAwait(false);
            }
            catch (HttpRequestException) when (!context.RequestAborted.IsCancellationRequested)
            {
                // An HTTP/1.1-only app (no h2c): this and later requests of HTTP/2 clients use HTTP/1.1.
                _http1Only[destination] = true;
            }
        }

        try
        {
            response ??= await SendAsync(context, destination, http2 && hasBody ? HttpVersion.Version20 : null).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            if (!context.RequestAborted.IsCancellationRequested)
            {
                context.Response.StatusCode = StatusCodes.Status502BadGateway;
                await context.Response.WriteAsync($"doppel: the pod's app at {destination} could not be reached: {e.Message}\n").ConfigureAwait(false);
            }

            return;
        }

        await CopyResponseAsync(context, response).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpContext context, IPEndPoint destination, Version? version)
    {
        var request = context.Request;
        var authority = destination.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{destination.Address}]:{destination.Port}" : destination.ToString();
        var message = new HttpRequestMessage(new HttpMethod(request.Method), new Uri($"http://{authority}{request.Path.ToUriComponent()}{request.QueryString.ToUriComponent()}"))
        {
            Version = version ?? (request.Protocol == "HTTP/1.0" ? HttpVersion.Version10 : HttpVersion.Version11),
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        if (context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true)
        {
            message.Content = new StreamContent(request.Body);
        }

        foreach (var (name, values) in request.Headers)
        {
            if (HttpWork.IsHopByHop(name) && !(name.Equals("TE", StringComparison.OrdinalIgnoreCase) && values == "trailers"))
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

        return await _client.SendAsync(message, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task CopyResponseAsync(HttpContext context, HttpResponseMessage response)
    {
        using (response)
        {
            context.Response.StatusCode = (int)response.StatusCode;
            foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
            {
                if (!HttpWork.IsHopByHop(name))
                {
                    context.Response.Headers.Append(name, values.ToArray());
                }
            }

            try
            {
                await using var body = await response.Content.ReadAsStreamAsync(context.RequestAborted).ConfigureAwait(false);
                await body.CopyToAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
                if (context.Response.SupportsTrailers())
                {
                    foreach (var (name, values) in response.TrailingHeaders)
                    {
                        context.Response.AppendTrailer(name, values.ToArray());
                    }
                }
            }
            catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
            {
                context.Abort();
            }
        }
    }

    public void Dispose() => _client.Dispose();
}
