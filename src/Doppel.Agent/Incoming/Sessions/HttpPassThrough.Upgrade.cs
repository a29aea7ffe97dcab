using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Doppel.Agent.Incoming;

/// <summary>
/// Pass-through of HTTP/1.1 upgrade requests (WebSocket, ...) no filter took:
/// <code>
///   GET + Upgrade ──SocketsHttpHandler (own handler, never pooled)──► app
///   101 ◄── app: Kestrel's 101 to the client, then <see cref="UpgradedRelay.PassThroughAsync"/>
///   anything else ◄── app: copied like any response
/// </code>
/// SocketsHttpHandler hands out a 101's connection as a raw stream, which cannot be half-closed;
/// the marked socket under it (caught in the connect callback through the request's options) is
/// kept so the client's end of stream can reach the app as a half-close. The upgrade handler
/// keeps no idle connections, so every upgrade request gets the connection it opened.
/// </summary>
internal sealed partial class HttpPassThrough
{
    private static readonly HttpRequestOptionsKey<AppConnection> s_appConnection = new("doppel.app-connection");

    private readonly HttpMessageInvoker _upgrades;

    private static HttpMessageInvoker UpgradeClient(IncomingHub hub) => new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        PooledConnectionIdleTimeout = TimeSpan.Zero, // a connection that did not upgrade is closed, never reused
        ConnectCallback = (context, cancellationToken) => ConnectAsync(hub, context, cancellationToken),
    });

    /// <summary>A marked socket to the app (the redirect lets it through); noted in the request's options when asked for.</summary>
    private static async ValueTask<Stream> ConnectAsync(IncomingHub hub, SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var destination = new IPEndPoint(IPAddress.Parse(context.DnsEndPoint.Host), context.DnsEndPoint.Port);
        var socket = await hub.ConnectToAppAsync(destination, cancellationToken).ConfigureAwait(false);
        if (context.InitialRequestMessage.Options.TryGetValue(s_appConnection, out var connection))
        {
            connection.Socket = socket;
        }

        return new NetworkStream(socket, ownsSocket: true);
    }

    private async Task ForwardUpgradeAsync(HttpContext context, IHttpUpgradeFeature upgrade, IPEndPoint destination)
    {
        using var message = Message(context, destination, HttpVersion.Version11, upgrade: true);
        var connection = new AppConnection();
        message.Options.Set(s_appConnection, connection);
        HttpResponseMessage response;
        try
        {
            response = await _upgrades.SendAsync(message, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            await AnswerUnreachableAsync(context, destination, e).ConfigureAwait(false);
            return;
        }

        if (response.StatusCode != HttpStatusCode.SwitchingProtocols)
        {
            await CopyResponseAsync(context, response).ConfigureAwait(false);
            return;
        }

        using (response)
        {
            await UpgradedRelay.PassThroughAsync(context, upgrade, response, connection.Socket).ConfigureAwait(false);
        }
    }

    /// <summary>The socket the handler opened for one upgrade request.</summary>
    private sealed class AppConnection
    {
        public Socket? Socket { get; set; }
    }
}
