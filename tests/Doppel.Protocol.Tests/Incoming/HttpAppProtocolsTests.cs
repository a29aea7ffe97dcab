using System.Net;
using System.Net.Sockets;
using Doppel.Protocol.Incoming;

namespace Doppel.Protocol.Tests.Incoming;

/// <summary>
/// How an app is judged for h2c and HTTP/1.x: only a protocol failure, confirmed by what the app
/// answers on a connection of its own (a real listener on 127.0.0.1), makes a verdict.
/// </summary>
public sealed class HttpAppProtocolsTests
{
    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    private static readonly IPEndPoint s_app = new(IPAddress.Loopback, 9);

    [Fact]
    public async Task ARefusedConnectionJudgesNothingAndProbesNothing()
    {
        var probes = 0;
        var protocols = new HttpAppProtocols((_, _) =>
        {
            Interlocked.Increment(ref probes);
            throw new SocketException((int)SocketError.ConnectionRefused);
        });
        var refused = new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused");

        Assert.False(await protocols.RefusedH2cAsync(s_app, refused, Timeout));
        Assert.False(await protocols.RefusedHttp1Async(s_app, refused, Timeout));

        Assert.Equal(0, probes);
        Assert.Null(protocols.VersionFor(s_app, http2: true));
        Assert.Null(protocols.VersionFor(s_app, http2: false));
    }

    [Fact]
    public async Task AProtocolFailureAtAnAppThatCannotBeReachedForTheProbeJudgesNothing()
    {
        var protocols = new HttpAppProtocols((_, _) => throw new SocketException((int)SocketError.ConnectionRefused));
        var failure = new HttpRequestException(HttpRequestError.HttpProtocolError, "invalid data");

        Assert.False(await protocols.RefusedH2cAsync(s_app, failure, Timeout));
        Assert.False(await protocols.RefusedHttp1Async(s_app, failure, Timeout));
        Assert.Null(protocols.VersionFor(s_app, http2: true));
        Assert.Null(protocols.VersionFor(s_app, http2: false));
    }

    [Fact]
    public async Task AnAppThatAnswersThePrefaceInHttp1IsJudgedHttp1OnlyAndOneThatSendsFramesH2cOnly()
    {
        using var http1 = Answering("HTTP/1.0 505 HTTP Version Not Supported\r\nConnection: close\r\n\r\n"u8.ToArray());
        using var h2c = Answering([0, 0, 0, 0x4, 0, 0, 0, 0, 0, 0, 0, 8, 0x7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]); // SETTINGS, GOAWAY
        var protocols = new HttpAppProtocols();
        var failure = new HttpRequestException(HttpRequestError.InvalidResponse, "invalid response");

        Assert.True(await protocols.RefusedH2cAsync(http1.EndPoint, failure, Timeout));
        Assert.False(await protocols.RefusedHttp1Async(http1.EndPoint, failure, Timeout));
        Assert.True(await protocols.RefusedHttp1Async(h2c.EndPoint, failure, Timeout));

        Assert.Equal(HttpVersion.Version11, protocols.VersionFor(http1.EndPoint, http2: true));
        Assert.Null(protocols.VersionFor(http1.EndPoint, http2: false));
        Assert.Equal(HttpVersion.Version20, protocols.VersionFor(h2c.EndPoint, http2: false));
        Assert.Null(protocols.VersionFor(h2c.EndPoint, http2: true));
    }

    [Fact]
    public async Task KestrelsHttp2OnlyAnswerIsRecognisedAndAnyOther400IsLeftReadable()
    {
        var protocols = new HttpAppProtocols((_, _) => throw new SocketException((int)SocketError.ConnectionRefused));
        using var kestrel = new HttpResponseMessage(HttpStatusCode.BadRequest) { Content = new ByteArrayContent(HttpAppProtocols.Http2OnlyEndpointText.ToArray()) };
        kestrel.Content.Headers.ContentLength = HttpAppProtocols.Http2OnlyEndpointText.Length;
        var other = new string('x', HttpAppProtocols.Http2OnlyEndpointText.Length);
        using var another = new HttpResponseMessage(HttpStatusCode.BadRequest) { Content = new StringContent(other) };
        another.Content.Headers.ContentLength = other.Length;
        var elsewhere = new IPEndPoint(IPAddress.Loopback, 10);

        Assert.True(await protocols.RefusedHttp1Async(s_app, kestrel, Timeout));
        Assert.False(await protocols.RefusedHttp1Async(elsewhere, another, Timeout));

        Assert.Equal(HttpVersion.Version20, protocols.VersionFor(s_app, http2: false));
        Assert.Null(protocols.VersionFor(elsewhere, http2: false));
        Assert.Equal(other, await another.Content.ReadAsStringAsync(Timeout));
    }

    /// <summary>A listener on 127.0.0.1 that writes <paramref name="answer"/> to every connection once something arrives, then closes it.</summary>
    private static Responder Answering(byte[] answer) => new(answer);

    private sealed class Responder : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();

        public Responder(byte[] answer)
        {
            _listener.Start();
            _ = ServeAsync(answer);
        }

        public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

        private async Task ServeAsync(byte[] answer)
        {
            try
            {
                while (true)
                {
                    using var socket = await _listener.AcceptSocketAsync(_stop.Token);
                    await socket.ReceiveAsync(new byte[1024], SocketFlags.None, _stop.Token);
                    await socket.SendAsync(answer, SocketFlags.None, _stop.Token);
                    socket.Shutdown(SocketShutdown.Both);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // stopped
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            _stop.Dispose();
        }
    }
}
