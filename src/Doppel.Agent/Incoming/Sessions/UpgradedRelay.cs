using System.Net.Sockets;
using Doppel.Protocol;
using Doppel.Protocol.V1;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Doppel.Agent.Incoming;

/// <summary>
/// An HTTP/1.1 upgrade (WebSocket, or any protocol named in <c>Upgrade</c>) after its 101 Switching
/// Protocols: the request was routed like any other, and the upgraded connection follows it.
/// <code>
///   stolen:       client ◄─Kestrel's upgraded stream─► data / half_close on the Serve call ◄─► session ◄─► local app
///   pass-through: client ◄─Kestrel's upgraded stream─► SocketsHttpHandler's raw connection ◄─► pod's app
/// </code>
/// The far side's end (the session's <c>half_close</c>, the app's end of stream) ends the relay
/// after its last bytes, and Kestrel closes the client's connection. The client's end of stream
/// goes on as a half-close (<c>half_close</c> to the session; <c>shutdown(SHUT_WR)</c> on the
/// socket to the app), but Kestrel takes a client's FIN for the end of the whole connection and
/// stops its output, so the upgraded connection ends then: bytes the far side sends after the
/// client's half-close are lost (WebSocket closes with close frames first, so it is not
/// affected). A failure on either side resets the client's connection.
/// Not upgrades here: <c>Upgrade: h2c</c> (Kestrel serves such a request as plain HTTP/1.1 and
/// drops the header, which RFC 9110 §7.8 allows), and HTTP/2 extended CONNECT (RFC 8441,
/// WebSocket over HTTP/2): Kestrel advertises it (SETTINGS_ENABLE_CONNECT_PROTOCOL = 1, no switch
/// turns that off), but the Serve protocol carries no <c>:protocol</c>, so such a request is
/// answered 501 with one line, on either route (<see cref="RefusedExtendedConnectAsync"/>).
/// </summary>
internal static class UpgradedRelay
{
    /// <summary>The request's upgrade feature when it is an HTTP/1.1 upgrade request, else null.</summary>
    public static IHttpUpgradeFeature? Upgradable(HttpContext context)
        => context.Features.Get<IHttpUpgradeFeature>() is { IsUpgradableRequest: true } upgrade ? upgrade : null;

    /// <summary>Upgrade and Connection, which an upgrade request keeps on its way (other hop-by-hop headers do not).</summary>
    public static bool IsUpgradeHeader(string name)
        => name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase) || name.Equals("Connection", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Answers an HTTP/2 extended CONNECT (<c>:protocol</c>, RFC 8441) with 501 and one line; true
    /// when it did. The client can open its WebSocket with an HTTP/1.1 upgrade instead, which doppel routes.
    /// </summary>
    public static async Task<bool> RefusedExtendedConnectAsync(HttpContext context)
    {
        if (context.Features.Get<IHttpExtendedConnectFeature>() is not { IsExtendedConnect: true } connect)
        {
            return false;
        }

        context.Response.StatusCode = StatusCodes.Status501NotImplemented;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync($"doppel: {connect.Protocol} over HTTP/2 (extended CONNECT) is not supported; use an HTTP/1.1 upgrade\n").ConfigureAwait(false);
        return true;
    }

    /// <summary>An upgrade request's request_end, at once: what follows its head is the upgraded stream, not a body.</summary>
    public static async Task<bool> SendNoBodyAsync(ServeStreams call, CancellationToken cancellationToken)
    {
        try
        {
            await call.WriteAsync(new ServeServerMessage { RequestEnd = new HttpMessageEnd() }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
        {
            return false;
        }
    }

    // A 101's header reaches the client unless it is hop-by-hop; Upgrade names the new protocol and stays.
    private static bool GoesWith101(string name) => !HttpWork.IsHopByHop(name) || name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase);

    /// <summary>The session answered 101: sends it to the client (with the session's headers) and relays the upgraded bytes on the call until both sides end.</summary>
    public static async Task StolenAsync(HttpContext context, IHttpUpgradeFeature upgrade, HttpResponseHead head, ServeStreams call, CancellationToken cancellationToken)
    {
        foreach (var header in head.Headers)
        {
            if (GoesWith101(header.Name))
            {
                context.Response.Headers.Append(header.Name, header.Value);
            }
        }

        var client = await UpgradeAsync(context, upgrade).ConfigureAwait(false);
        if (client is null)
        {
            return;
        }

        await using (client.ConfigureAwait(false))
        {
            await RelayAsync(
                context,
                ct => ToSessionAsync(client, call, ct),
                ct => ToClientAsync(call, client, ct),
                cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The pod's app answered 101: sends it to the client (with the app's headers) and relays the upgraded bytes until both sides end.</summary>
    public static async Task PassThroughAsync(HttpContext context, IHttpUpgradeFeature upgrade, HttpResponseMessage response, Socket? appSocket)
    {
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (GoesWith101(name))
            {
                context.Response.Headers.Append(name, values.ToArray());
            }
        }

        Stream app;
        try
        {
            app = await response.Content.ReadAsStreamAsync(context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
        {
            context.Abort();
            return;
        }

        await using (app.ConfigureAwait(false))
        {
            var client = await UpgradeAsync(context, upgrade).ConfigureAwait(false);
            if (client is null)
            {
                return;
            }

            await using (client.ConfigureAwait(false))
            {
                await RelayAsync(
                    context,
                    async ct =>
                    {
                        if (!await CopyAsync(client, app, ct).ConfigureAwait(false))
                        {
                            return false;
                        }

                        try
                        {
                            appSocket?.Shutdown(SocketShutdown.Send);
                        }
                        catch (Exception e) when (e is SocketException or ObjectDisposedException)
                        {
                            return false;
                        }

                        return true;
                    },
                    ct => CopyAsync(app, client, ct),
                    CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private static async Task<Stream?> UpgradeAsync(HttpContext context, IHttpUpgradeFeature upgrade)
    {
        try
        {
            return await upgrade.UpgradeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or OperationCanceledException)
        {
            context.Abort();
            return null;
        }
    }

    /// <summary>
    /// Runs both directions: <paramref name="fromClient"/> (true when the client ended its stream
    /// and that was passed on) and <paramref name="toClient"/> (true when the other side ended
    /// cleanly). The relay ends when <paramref name="toClient"/> does, or when
    /// <paramref name="fromClient"/> fails; a failure resets the client's connection.
    /// </summary>
    private static async Task RelayAsync(HttpContext context, Func<CancellationToken, Task<bool>> fromClient, Func<CancellationToken, Task<bool>> toClient, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var up = fromClient(stop.Token);
        var down = toClient(stop.Token);
        var first = await Task.WhenAny(up, down).ConfigureAwait(false);
        var clean = await first.ConfigureAwait(false);
        if (first == up && clean)
        {
            clean = await down.ConfigureAwait(false);
        }

        await stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(up, down).ConfigureAwait(false);
        if (!clean)
        {
            context.Abort();
        }
    }

    // client --bytes--> session; true when the client's end of stream was passed on as half_close.
    private static async Task<bool> ToSessionAsync(Stream client, ServeStreams call, CancellationToken cancellationToken)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(Relay.ChunkSize);
        try
        {
            int n;
            while ((n = await client.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                // Wrap, not copy: WriteAsync serializes the message before the buffer is read into again.
                await call.WriteAsync(new ServeServerMessage { Data = Relay.Wrap(buffer, n) }, cancellationToken).ConfigureAwait(false);
            }

            await call.WriteAsync(new ServeServerMessage { HalfClose = new TcpHalfClose() }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException or Microsoft.AspNetCore.Connections.ConnectionResetException)
        {
            return false;
        }
    }

    // session --bytes--> client; true when the session's half_close came.
    private static async Task<bool> ToClientAsync(ServeStreams call, Stream client, CancellationToken cancellationToken)
    {
        try
        {
            while (await call.Requests.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                var message = call.Requests.Current;
                switch (message.MessageCase)
                {
                    case ServeClientMessage.MessageOneofCase.Data:
                        await client.WriteAsync(message.Data.Memory, cancellationToken).ConfigureAwait(false);
                        await client.FlushAsync(cancellationToken).ConfigureAwait(false);
                        break;
                    case ServeClientMessage.MessageOneofCase.HalfClose:
                        return true;
                    default:
                        return false; // error, or a message that has no place in a byte relay
                }
            }

            return false;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
        {
            return false;
        }
    }

    // One direction of the pass-through; true at the source's end of stream.
    private static async Task<bool> CopyAsync(Stream from, Stream to, CancellationToken cancellationToken)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(Relay.ChunkSize);
        try
        {
            int n;
            while ((n = await from.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                await to.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                await to.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            return true;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or Microsoft.AspNetCore.Connections.ConnectionResetException)
        {
            return false;
        }
    }
}
