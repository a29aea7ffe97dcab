using System.Net;
using System.Net.Sockets;
using System.Text;
using Doppel.Protocol.Incoming;
using Doppel.Protocol.V1;
using Doppel.Session.Incoming;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Doppel.Session.Tests.Incoming;

/// <summary>
/// Delivery of stolen work to a real local app (Kestrel on 127.0.0.1, HTTP/1.1 and h2c; a plain
/// TCP echo server), driven with the protocol's messages as the agent sends them.
/// </summary>
public sealed partial class ServeWorkTests : IAsyncLifetime
{
    private WebApplication _app = null!;
    private IPEndPoint _http1 = null!;
    private IPEndPoint _h2c = null!;
    private readonly HttpMessageInvoker _client = new(IncomingTraffic.Handler());
    private readonly IncomingCounts _counts = new();
    private readonly TaskCompletionSource<string> _bodyArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _firstHalfSeen = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _aborted;

    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(options =>
        {
            options.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http1);
            options.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2);
        });
        _app = builder.Build();
        _app.MapGet("/who", (HttpContext context) =>
            $"host={context.Request.Host};xff={context.Request.Headers["X-Forwarded-For"]};fwd={context.Request.Headers["Forwarded"]};proto={context.Request.Protocol};dev={context.Request.Headers["X-Dev-User"]}");
        _app.MapPost("/echo", async (HttpContext context) =>
        {
            var buffer = new byte[65536];
            var received = new MemoryStream();
            int n;
            while ((n = await context.Request.Body.ReadAsync(buffer)) > 0)
            {
                received.Write(buffer, 0, n);
                _bodyArrived.TrySetResult(Encoding.UTF8.GetString(buffer, 0, n));
            }

            await context.Response.Body.WriteAsync(received.ToArray());
        });
        _app.MapGet("/slow", async (HttpContext context) =>
        {
            // The second half only once the first reached the caller: a buffered response never completes.
            await context.Response.WriteAsync("first ");
            await context.Response.Body.FlushAsync();
            await _firstHalfSeen.Task;
            await context.Response.WriteAsync("second");
        });
        _app.MapPost("/grpc-like", async (HttpContext context) =>
        {
            var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
            context.Response.ContentType = "application/grpc";
            await context.Response.WriteAsync("reply to " + body);
            context.Response.AppendTrailer("grpc-status", "0");
            context.Response.AppendTrailer("grpc-message", "fine");
        });
        _app.MapGet("/abort", (HttpContext context) =>
        {
            Interlocked.Increment(ref _aborted);
            context.Abort();
        });
        _app.MapGet("/upgrade", async (HttpContext context) =>
        {
            var upgrade = context.Features.Get<IHttpUpgradeFeature>()!;
            context.Response.Headers.Upgrade = "echo";
            var stream = await upgrade.UpgradeAsync();
            var reader = new StreamReader(stream);
            var line = await reader.ReadLineAsync();
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"echo {line}\n"));
            await stream.FlushAsync();
        });
        await _app.StartAsync(Timeout);
        var addresses = _app.Urls.Select(u => new Uri(u)).Select(u => new IPEndPoint(IPAddress.Loopback, u.Port)).ToArray();
        (_http1, _h2c) = (addresses[0], addresses[1]);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
    }

    private ServeWork Work(IPEndPoint? app) => new(_client, _ => app, _counts, NullLogger.Instance);

    private static HttpRequestHead Head(string method, string target, string version, params (string Name, string Value)[] headers)
    {
        var head = new HttpRequestHead
        {
            Id = 7,
            Port = 80,
            Method = method,
            Target = target,
            Version = version,
            Authority = "web.example:80",
            Scheme = "http",
            Client = SockAddr.FromIPEndPoint(new IPEndPoint(IPAddress.Parse("10.1.2.3"), 51000)),
        };
        foreach (var (name, value) in headers)
        {
            head.Headers.Add(new HttpHeader { Name = name, Value = value });
        }

        return head;
    }

    private static ServeServerMessage Data(string text) => new() { Data = ByteString.CopyFromUtf8(text) };

    private static ServeServerMessage End() => new() { RequestEnd = new HttpMessageEnd() };

    [Fact]
    public async Task AGetReachesTheAppWithItsHostAndTheOriginalClientInForwardingHeaders()
    {
        var line = new ServeLine();
        await line.SendAsync(End());

        var more = await Work(_http1).ServeHttpAsync(Head("GET", "/who", "HTTP/1.1", ("Host", "web.example:80"), ("X-Dev-User", "alice")), line.Reader, line.Writer, Timeout);

        var head = await line.NextAsync(Timeout);
        var (body, end) = await line.ReadBodyAsync(Timeout);
        Assert.True(more);
        Assert.Equal(200u, head.ResponseHead.Status);
        Assert.Equal("host=web.example:80;xff=10.1.2.3;fwd=for=10.1.2.3;proto=http;proto=HTTP/1.1;dev=alice", Encoding.UTF8.GetString(body));
        Assert.Equal(ServeClientMessage.MessageOneofCase.ResponseEnd, end.MessageCase);
    }

    [Fact]
    public async Task AChunkedRequestBodyReachesTheAppChunkByChunk()
    {
        var line = new ServeLine();
        var work = Work(_http1).ServeHttpAsync(Head("POST", "/echo", "HTTP/1.1", ("Transfer-Encoding", "chunked")), line.Reader, line.Writer, Timeout);

        await line.SendAsync(Data("first "));
        var firstArrived = await _bodyArrived.Task.WaitAsync(Timeout); // before the rest of the request exists
        await line.SendAsync(Data("second"));
        await line.SendAsync(End());
        var head = await line.NextAsync(Timeout);
        var (body, end) = await line.ReadBodyAsync(Timeout);

        Assert.Equal("first ", firstArrived);
        Assert.Equal(200u, head.ResponseHead.Status);
        Assert.Equal("first second", Encoding.UTF8.GetString(body));
        Assert.Equal(ServeClientMessage.MessageOneofCase.ResponseEnd, end.MessageCase);
        Assert.True(await work);
    }

    [Fact]
    public async Task AResponseBodyReachesTheAgentChunkByChunk()
    {
        var line = new ServeLine();
        await line.SendAsync(End());
        var work = Work(_http1).ServeHttpAsync(Head("GET", "/slow", "HTTP/1.1"), line.Reader, line.Writer, Timeout);

        var head = await line.NextAsync(Timeout);
        var first = await line.NextAsync(Timeout);
        _firstHalfSeen.SetResult();
        var (rest, end) = await line.ReadBodyAsync(Timeout);

        Assert.Equal(200u, head.ResponseHead.Status);
        Assert.Equal("first ", first.Data.ToStringUtf8());
        Assert.Equal("second", Encoding.UTF8.GetString(rest));
        Assert.Equal(ServeClientMessage.MessageOneofCase.ResponseEnd, end.MessageCase);
        Assert.True(await work);
    }

    [Fact]
    public async Task ExpectContinueNeverHoldsTheBody()
    {
        var line = new ServeLine();
        await line.SendAsync(Data("payload"));
        await line.SendAsync(End());

        var more = await Work(_http1).ServeHttpAsync(Head("POST", "/echo", "HTTP/1.1", ("Content-Length", "7"), ("Expect", "100-continue")), line.Reader, line.Writer, Timeout);

        Assert.Equal(200u, (await line.NextAsync(Timeout)).ResponseHead.Status);
        Assert.Equal("payload", Encoding.UTF8.GetString((await line.ReadBodyAsync(Timeout)).Body));
        Assert.True(more);
    }

    [Fact]
    public async Task H2cRequestsStayHttp2AndTheirTrailersComeBack()
    {
        var line = new ServeLine();
        await line.SendAsync(Data("ping"));
        await line.SendAsync(End());

        var more = await Work(_h2c).ServeHttpAsync(Head("POST", "/grpc-like", "HTTP/2", ("content-type", "application/grpc"), ("te", "trailers")), line.Reader, line.Writer, Timeout);

        var head = await line.NextAsync(Timeout);
        var (body, end) = await line.ReadBodyAsync(Timeout);
        Assert.True(more);
        Assert.Equal(200u, head.ResponseHead.Status);
        Assert.Equal("reply to ping", Encoding.UTF8.GetString(body));
        Assert.Contains(end.ResponseEnd.Trailers, t => t.Name == "grpc-status" && t.Value == "0");
        Assert.Contains(end.ResponseEnd.Trailers, t => t.Name == "grpc-message" && t.Value == "fine");
    }

    [Fact]
    public async Task AnH2cGetReachesTheAppOverHttp2()
    {
        var line = new ServeLine();
        await line.SendAsync(End());

        await Work(_h2c).ServeHttpAsync(Head("GET", "/who", "HTTP/2"), line.Reader, line.Writer, Timeout);

        Assert.Equal(200u, (await line.NextAsync(Timeout)).ResponseHead.Status);
        Assert.Contains("host=web.example:80;", Encoding.UTF8.GetString((await line.ReadBodyAsync(Timeout)).Body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnH2cGetToAnHttp11OnlyAppIsReplayedOverHttp11()
    {
        var line = new ServeLine();
        var head = Head("GET", "/who", "HTTP/2");
        head.End = new HttpMessageEnd();

        var more = await Work(_http1).ServeHttpAsync(head, line.Reader, line.Writer, Timeout);

        var answer = await line.NextAsync(Timeout);
        Assert.True(answer.MessageCase == ServeClientMessage.MessageOneofCase.ResponseHead, answer.ToString());
        var body = Encoding.UTF8.GetString((await line.ReadBodyAsync(Timeout)).Body);
        Assert.Equal(200u, answer.ResponseHead.Status);
        Assert.Contains("host=web.example:80;", body, StringComparison.Ordinal);
        Assert.Contains(";proto=HTTP/1.1;", body, StringComparison.Ordinal);
        Assert.True(more);
        Assert.Equal(0, _counts.FailedCount);
    }

    [Fact]
    public async Task AWholeH2cPostToPythonsHttpServerKeepsItsBodyAndLaterH2cRequestsGoStraightToHttp11()
    {
        await using var python = await PythonHttpApp.StartAsync(Timeout);
        var work = Work(python.EndPoint);
        var post = Head("POST", "/orders", "HTTP/2", ("content-type", "text/plain"));
        post.Body = ByteString.CopyFromUtf8("two apples");
        post.End = new HttpMessageEnd();
        var get = Head("GET", "/orders/1", "HTTP/2");
        get.End = new HttpMessageEnd();

        var postLine = new ServeLine();
        var postMore = await work.ServeHttpAsync(post, postLine.Reader, postLine.Writer, Timeout);
        var postAnswer = await postLine.NextAsync(Timeout);
        var postBody = await postLine.ReadBodyAsync(Timeout);
        var getLine = new ServeLine();
        var getMore = await work.ServeHttpAsync(get, getLine.Reader, getLine.Writer, Timeout);
        var getAnswer = await getLine.NextAsync(Timeout);
        var getBody = await getLine.ReadBodyAsync(Timeout);

        Assert.True(postAnswer.MessageCase == ServeClientMessage.MessageOneofCase.ResponseHead, postAnswer.ToString());
        Assert.Equal(200u, postAnswer.ResponseHead.Status);
        Assert.Equal("python HTTP/1.1 POST /orders host=web.example:80 body=two apples\n", Encoding.UTF8.GetString(postBody.Body));
        Assert.True(getAnswer.MessageCase == ServeClientMessage.MessageOneofCase.ResponseHead, getAnswer.ToString());
        Assert.Equal("python HTTP/1.1 GET /orders/1 host=web.example:80 body=\n", Encoding.UTF8.GetString(getBody.Body));
        Assert.True(postMore && getMore);
        // The request's refused preface and the probe's, then each request once: the second never tried h2c.
        Assert.Equal(["PRI * HTTP/2.0", "PRI * HTTP/2.0", "POST /orders HTTP/1.1", "GET /orders/1 HTTP/1.1"], await python.RequestLinesAsync(4, Timeout));
        Assert.Equal(0, _counts.FailedCount);
    }

    [Fact]
    public async Task AStreamedH2cBodyReachesAnHttp11OnlyAppChunkedOnceTheAppIsKnown()
    {
        await using var python = await PythonHttpApp.StartAsync(Timeout);
        var work = Work(python.EndPoint);
        var first = Head("GET", "/", "HTTP/2");
        first.End = new HttpMessageEnd();
        var firstLine = new ServeLine();
        await work.ServeHttpAsync(first, firstLine.Reader, firstLine.Writer, Timeout);
        var firstAnswer = await firstLine.NextAsync(Timeout);
        Assert.True(firstAnswer.ResponseHead?.Status == 200u, firstAnswer.ToString());
        await firstLine.ReadBodyAsync(Timeout);

        var line = new ServeLine();
        var serving = work.ServeHttpAsync(Head("POST", "/upload", "HTTP/2"), line.Reader, line.Writer, Timeout); // no length: the body streams
        await line.SendAsync(Data("first "));
        await line.SendAsync(Data("second"));
        await line.SendAsync(End());
        var answer = await line.NextAsync(Timeout);
        var (body, _) = await line.ReadBodyAsync(Timeout);

        Assert.True(answer.MessageCase == ServeClientMessage.MessageOneofCase.ResponseHead, answer.ToString());
        Assert.Equal("python HTTP/1.1 POST /upload host=web.example:80 body=first second\n", Encoding.UTF8.GetString(body));
        Assert.True(await serving);
        Assert.Equal(["PRI * HTTP/2.0", "PRI * HTTP/2.0", "GET / HTTP/1.1", "POST /upload HTTP/1.1"], await python.RequestLinesAsync(4, Timeout));
    }

    [Fact]
    public async Task TheH2cProbeTellsAnH2cAppFromHttp1OnlyOnesAndFromNobody()
    {
        await using var python = await PythonHttpApp.StartAsync(Timeout);
        using var closed = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        closed.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        Assert.True(await HttpAppProtocols.ProbeH2cWithSocketAsync(_h2c, Timeout));
        Assert.False(await HttpAppProtocols.ProbeH2cWithSocketAsync(_http1, Timeout)); // Kestrel: a GOAWAY, not SETTINGS
        Assert.False(await HttpAppProtocols.ProbeH2cWithSocketAsync(python.EndPoint, Timeout)); // an HTTP/1.0 505
        Assert.Null(await HttpAppProtocols.ProbeH2cWithSocketAsync((IPEndPoint)closed.LocalEndPoint!, Timeout)); // nothing listens
    }

    [Fact]
    public async Task AnH2cRequestToAnAppThatIsNotListeningIsAnErrorForThe502()
    {
        using var closed = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        closed.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var nobody = (IPEndPoint)closed.LocalEndPoint!; // bound, never listening: connections are refused
        var head = Head("GET", "/", "HTTP/2");
        head.End = new HttpMessageEnd();
        var line = new ServeLine();

        var more = await Work(nobody).ServeHttpAsync(head, line.Reader, line.Writer, Timeout);

        var error = await line.NextAsync(Timeout);
        Assert.False(more);
        Assert.Equal(111, error.Error.Errno);
        Assert.Equal(1, _counts.FailedCount);
    }

    [Fact]
    public async Task AnUpgradeBecomesAByteRelayAndEndsTheCall()
    {
        var line = new ServeLine();
        await line.SendAsync(End());
        var work = Work(_http1).ServeHttpAsync(Head("GET", "/upgrade", "HTTP/1.1", ("Connection", "Upgrade"), ("Upgrade", "echo")), line.Reader, line.Writer, Timeout);

        var head = await line.NextAsync(Timeout);
        await line.SendAsync(Data("hello\n"));
        await line.SendAsync(new ServeServerMessage { HalfClose = new TcpHalfClose() });
        var (echoed, end) = await line.ReadBodyAsync(Timeout);

        Assert.Equal(101u, head.ResponseHead.Status);
        Assert.Contains(head.ResponseHead.Headers, h => h.Name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase) && h.Value == "echo");
        Assert.Equal("echo hello\n", Encoding.ASCII.GetString(echoed));
        Assert.Equal(ServeClientMessage.MessageOneofCase.HalfClose, end.MessageCase);
        Assert.False(await work);
    }

    [Fact]
    public async Task AnAppThatIsNotListeningIsAnErrorForThe502()
    {
        using var closed = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        closed.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var nobody = (IPEndPoint)closed.LocalEndPoint!; // bound, never listening: connections are refused
        var line = new ServeLine();
        await line.SendAsync(End());

        var more = await Work(nobody).ServeHttpAsync(Head("GET", "/", "HTTP/1.1"), line.Reader, line.Writer, Timeout);

        var error = await line.NextAsync(Timeout);
        Assert.False(more);
        Assert.Equal(111, error.Error.Errno);
        Assert.Contains($"the local app at {nobody} did not answer", error.Error.Message, StringComparison.Ordinal);
        Assert.Equal(1, _counts.FailedCount);
    }

    [Fact]
    public async Task MirroredRequestsReachTheAppAndOnlyTheHeadAndEndGoBack()
    {
        var line = new ServeLine();
        await line.SendAsync(End());
        var head = Head("GET", "/who", "HTTP/1.1");
        head.Mirror = true;

        await Work(_http1).ServeHttpAsync(head, line.Reader, line.Writer, Timeout);

        Assert.Equal(200u, (await line.NextAsync(Timeout)).ResponseHead.Status);
        Assert.Equal(ServeClientMessage.MessageOneofCase.ResponseEnd, (await line.NextAsync(Timeout)).MessageCase);
        Assert.Equal(["mirror :80: 1 request, 0 connections"], _counts.Lines());
    }

    [Fact]
    public async Task AWholeTcpConnectionIsRelayedWithHalfClosesBothWays()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var server = Task.Run(async () =>
        {
            using var accepted = await listener.AcceptSocketAsync(Timeout);
            var received = new MemoryStream();
            var buffer = new byte[1024];
            int n;
            while ((n = await accepted.ReceiveAsync(buffer, SocketFlags.None)) > 0)
            {
                received.Write(buffer, 0, n);
            }

            await accepted.SendAsync(Encoding.ASCII.GetBytes("got " + Encoding.ASCII.GetString(received.ToArray())), SocketFlags.None);
            accepted.Shutdown(SocketShutdown.Send);
        });
        var line = new ServeLine();
        var work = Work((IPEndPoint)listener.LocalEndpoint).ServeTcpAsync(new IncomingTcpOpen { Id = 3, Port = 5432 }, line.Reader, line.Writer, Timeout);

        await line.SendAsync(Data("abc"));
        await line.SendAsync(Data("def"));
        await line.SendAsync(new ServeServerMessage { HalfClose = new TcpHalfClose() });
        var (answer, end) = await line.ReadBodyAsync(Timeout);

        Assert.Equal("got abcdef", Encoding.ASCII.GetString(answer));
        Assert.Equal(ServeClientMessage.MessageOneofCase.HalfClose, end.MessageCase);
        Assert.False(await work);
        await server;
        Assert.Equal(["steal :5432: 0 requests, 1 connection"], _counts.Lines());
    }

    [Fact]
    public async Task ServeCallCarriesRequestsInSequenceUntilItIsNotWantedIdle()
    {
        var line = new ServeLine();
        foreach (var _ in new[] { 1, 2 })
        {
            await line.SendAsync(new ServeServerMessage { RequestHead = Head("GET", "/who", "HTTP/1.1") });
            await line.SendAsync(End());
        }

        var busy = 0;
        var agains = 0;
        await Work(_http1).ServeCallAsync(line.Reader, line.Writer, () => busy++, () => ++agains < 2, Timeout);

        Assert.Equal(2, busy);
        Assert.Equal(2, agains);
        Assert.Equal(["steal :80: 2 requests, 0 connections"], _counts.Lines());
    }
}
