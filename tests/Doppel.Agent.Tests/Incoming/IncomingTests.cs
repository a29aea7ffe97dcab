using System.Diagnostics;
using Doppel.Protocol.V1;
using Doppel.Testing;
using Grpc.Core;

namespace Doppel.Agent.Tests.Incoming;

/// <summary>
/// Steal through the real agent: the "backend" pod's HTTP server is the app, the test is the
/// session (Subscribe + Serve through the generated client), curl in the "web" pod is the client.
/// </summary>
public sealed partial class IncomingTests(ClusterFixture cluster) : IClassFixture<ClusterFixture>
{
    private const string App = "hello from backend";

    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    private string Url(string path = "/") => $"http://{cluster.Backend.IP}:{ClusterFixture.HttpPort}{path}";

    private static HttpFilter DevUserIsTest => new() { Header = "^X-Dev-User: test$" };

    [Fact]
    public async Task AWholePortStealGivesTheSessionsAnswerAndUnsubscribeGivesThePortBackToTheApp()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        await using var session = await TestSession.StartAsync(channel, Timeout);

        Assert.Null((await session.SubscribeAsync(ClusterFixture.HttpPort, null, Timeout)).Error);
        Assert.Equal("stolen whole\n", await CurlAsync([Url()]));

        await session.UnsubscribeAsync(ClusterFixture.HttpPort, Timeout);
        await WaitForAppAsync();
    }

    [Fact]
    public async Task ASecondWholeStealOfThePortIsRefusedNamingTheFirstSession()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        await using var first = await TestSession.StartAsync(channel, Timeout);
        await using var second = await TestSession.StartAsync(channel, Timeout);

        Assert.Null((await first.SubscribeAsync(ClusterFixture.HttpPort, null, Timeout)).Error);
        var refused = await second.SubscribeAsync(ClusterFixture.HttpPort, null, Timeout);

        Assert.Equal(Doppel.Linux.Native.Errno.EADDRINUSE, refused.Error.Errno);
        Assert.Contains("test-session", refused.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnInvalidFilterFailsTheSubscribeCallWithInvalidArgument()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        await using var session = await TestSession.StartAsync(channel, Timeout);

        var error = await Assert.ThrowsAsync<RpcException>(() => session.SubscribeAsync(ClusterFixture.HttpPort, new HttpFilter { Header = "(" }, Timeout));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("header", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFilteredStealTakesTheMatchingRequestAndTheAppKeepsTheOtherOnOneConnection()
    {
        const string version = "--http1.1";
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout, ["--log-level", "debug"]);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        await using var session = await TestSession.StartAsync(channel, Timeout);
        Assert.Null((await session.SubscribeAsync(ClusterFixture.HttpPort, new HttpFilter { Path = "^/mine$" }, Timeout)).Error);

        // Two URLs in one curl: the second reuses the connection (num_connects 0).
        var output = await CurlAsync(agent, [version, "-w", "|%{http_version} %{num_connects}|\n", Url("/mine"), Url("/theirs")]);

        Assert.Equal($"{TestSession.Answer}|1.1 1|\n{App}\n|1.1 0|\n", output);
        var head = Assert.Single(session.Requests);
        Assert.Equal("/mine", head.Target);
        Assert.Equal("HTTP/1.1", head.Version);
        Assert.Equal(cluster.ProcessPod.IP, head.Client.ToIPEndPoint().Address);
    }

    /// <summary>
    /// A keep-alive connection routed by a filter before another session stole the whole port
    /// (on_concurrent_steal = override): its later requests go to the whole steal, as new connections do — they went to the app,
    /// the filtered session's requests included (a new user's report, session 11).
    /// </summary>
    [Fact]
    public async Task AWholeStealThatComesLaterTakesTheFurtherRequestsOfAFilteredKeepAliveConnection()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        await using var alice = await TestSession.StartAsync(channel, Timeout);
        await using var bob = await TestSession.StartAsync(channel, Timeout);
        Assert.Null((await alice.SubscribeAsync(ClusterFixture.HttpPort, DevUserIsTest, Timeout)).Error);

        using var thread = Doppel.Linux.Namespaces.NetworkNamespaceThread.Start(cluster.ProcessPod.NetworkNamespacePath, "test-client");
        using var socket = await thread.RunAsync(() => new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp));
        await socket.ConnectAsync(cluster.Backend.IP, ClusterFixture.HttpPort, Timeout);
        Assert.Contains(App, await ExchangeAsync(socket, "GET /before HTTP/1.1\r\nHost: backend\r\n\r\n", App), StringComparison.Ordinal);

        Assert.Null((await bob.SubscribeAsync(ClusterFixture.HttpPort, null, Timeout, onConcurrentSteal: ConcurrentSteal.Override)).Error);
        foreach (var request in (string[])["GET /unmarked HTTP/1.1\r\nHost: backend\r\n\r\n", "GET /marked HTTP/1.1\r\nHost: backend\r\nX-Dev-User: test\r\n\r\n"])
        {
            var answer = await ExchangeAsync(socket, request, "\r\n0\r\n\r\n"); // the session's answer is chunked
            Assert.Equal(TestSession.Answer, Unchunk(answer[(answer.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..]));
        }

        Assert.Equal(["/unmarked", "/marked"], bob.Requests.Select(r => r.Target));
        Assert.Empty(alice.Requests);
    }

    /// <summary>Sends <paramref name="request"/> on a kept-alive connection and reads until the answer holds <paramref name="until"/> (at most 10 s).</summary>
    private static async Task<string> ExchangeAsync(System.Net.Sockets.Socket socket, string request, string until)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.SendAsync(System.Text.Encoding.ASCII.GetBytes(request), deadline.Token);
        var received = new System.Text.StringBuilder();
        var buffer = new byte[4096];
        while (!received.ToString().Contains(until, StringComparison.Ordinal))
        {
            var n = await socket.ReceiveAsync(buffer, deadline.Token);
            if (n == 0)
            {
                break;
            }

            received.Append(System.Text.Encoding.ASCII.GetString(buffer, 0, n));
        }

        return received.ToString();
    }

    [Fact]
    public async Task OverH2cTheMatchingRequestGoesToTheSessionAndTheOtherToTheAppOnOneConnection()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        await using var session = await TestSession.StartAsync(channel, Timeout);
        Assert.Null((await session.SubscribeAsync(ClusterFixture.HttpPort, DevUserIsTest, Timeout)).Error);

        // .NET's HttpClient with h2c prior knowledge from a socket in the web pod. (curl 7.88.x
        // cannot reuse an h2c prior-knowledge connection with any server: its second transfer
        // stacks a second HTTP/2 layer on the connection and fails with "Error in the HTTP2
        // framing layer" before sending a byte; curl issue #10634, fixed in curl 8.0.0.)
        using var client = WebPodHttpClient(out var connects);
        using var mine = new HttpRequestMessage(HttpMethod.Get, Url("/mine")) { Version = System.Net.HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        mine.Headers.Add("X-Dev-User", "test");
        using var mineResponse = await client.SendAsync(mine, Timeout);
        using var theirs = new HttpRequestMessage(HttpMethod.Get, Url("/theirs")) { Version = System.Net.HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var theirsResponse = await client.SendAsync(theirs, Timeout);

        Assert.Equal(System.Net.HttpVersion.Version20, mineResponse.Version);
        Assert.Equal(TestSession.Answer, await mineResponse.Content.ReadAsStringAsync(Timeout));
        Assert.Equal("test-session", Assert.Single(mineResponse.Headers.GetValues("X-Answered-By")));
        Assert.Equal(System.Net.HttpVersion.Version20, theirsResponse.Version);
        Assert.Equal($"{App}\n", await theirsResponse.Content.ReadAsStringAsync(Timeout));
        Assert.Equal(1, connects.Count);
        Assert.Equal("HTTP/2", Assert.Single(session.Requests).Version);
    }

    [Fact]
    public async Task OneH2cConnectionFromNghttpCarriesStolenAndPassedThroughRequests()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        await using var session = await TestSession.StartAsync(channel, Timeout);
        Assert.Null((await session.SubscribeAsync(ClusterFixture.HttpPort, new HttpFilter { Path = "^/mine/" }, Timeout)).Error);
        string[] paths = ["/mine/1", "/theirs/1", "/mine/2", "/theirs/2", "/mine/3", "/theirs/3"];

        // nghttp sends every URI as a stream of one h2c prior-knowledge connection; -s lists each
        // stream's status code and body size (the session's and the app's answers differ in size).
        var result = await cluster.ProcessPod.ExecInNetworkAsync(["nghttp", "-n", "-s", "-t", "10", .. paths.Select(path => Url(path))], Timeout);

        Assert.True(result.ExitCode == 0, $"nghttp failed ({result.ExitCode}): {result.StandardOutput}{result.StandardError}\nagent: {agent.ErrorOutput}");
        var streams = NghttpStatistics(result.StandardOutput);
        foreach (var path in paths)
        {
            var expected = path.StartsWith("/mine/", StringComparison.Ordinal) ? TestSession.Answer : $"{App}\n";
            Assert.Equal(("200", System.Text.Encoding.UTF8.GetByteCount(expected).ToString(System.Globalization.CultureInfo.InvariantCulture)), streams[path]);
        }

        Assert.Equal(["/mine/1", "/mine/2", "/mine/3"], session.Requests.Select(head => head.Target).Order(StringComparer.Ordinal));
        Assert.All(session.Requests, head => Assert.Equal("HTTP/2", head.Version));
    }

    [Fact]
    public async Task CurlOverH2cGetsTheSessionsAnswerWithTheHeaderAndTheAppsWithout()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        await using var session = await TestSession.StartAsync(channel, Timeout);
        Assert.Null((await session.SubscribeAsync(ClusterFixture.HttpPort, DevUserIsTest, Timeout)).Error);
        string[] format = ["--http2-prior-knowledge", "-w", "|%{http_version}|\n"];

        // One request per curl: curl 7.88 cannot reuse an h2c connection (see above); nghttp and
        // HttpClient cover several requests on one.
        var mine = await CurlAsync(agent, [.. format, "-H", "X-Dev-User: test", Url("/mine")]);
        var theirs = await CurlAsync(agent, [.. format, Url("/theirs")]);
        var mineAgain = await CurlAsync(agent, [.. format, "-H", "X-Dev-User: test", Url("/mine")]);

        Assert.Equal($"{TestSession.Answer}|2|\n", mine);
        Assert.Equal($"{App}\n|2|\n", theirs);
        Assert.Equal(mine, mineAgain);
        Assert.Equal(2, session.Requests.Count);
    }

    [Fact]
    public async Task TheSessionsChunkedResponseReachesTheClientAsChunkedHttp11()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        await using var session = await TestSession.StartAsync(channel, Timeout);
        Assert.Null((await session.SubscribeAsync(ClusterFixture.HttpPort, DevUserIsTest, Timeout)).Error);

        var output = await CurlAsync(agent, ["-si", "--raw", "-H", "X-Dev-User: test", Url()]);

        // No Content-Length from the session: Kestrel streams the three data messages as chunks.
        Assert.StartsWith("HTTP/1.1 200", output, StringComparison.Ordinal);
        Assert.Contains("Transfer-Encoding: chunked", output, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("X-Answered-By: test-session", output, StringComparison.OrdinalIgnoreCase);
        Assert.EndsWith("9\r\nanswered \r\nc\r\nby the test \r\n8\r\nsession\n\r\n0\r\n\r\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithNoIdleServeCallTheRequestGets502WithAReason()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        await using var session = await TestSession.StartAsync(channel, Timeout, serveCalls: 0);
        Assert.Null((await session.SubscribeAsync(ClusterFixture.HttpPort, DevUserIsTest, Timeout)).Error);

        var output = await CurlAsync(agent, ["-s", "-w", "|%{http_code}", "-H", "X-Dev-User: test", Url()]);

        Assert.Equal("doppel: no idle Serve call of test-session within 5 s\n|502", output);
    }

    [Fact]
    public async Task NonHttpBytesOnAFilteredPortPassThroughToTheAppUntouched()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        await using var session = await TestSession.StartAsync(channel, Timeout);
        Assert.Null((await session.SubscribeAsync(ClusterFixture.TcpEchoPort, DevUserIsTest, Timeout)).Error);

        var echoed = await HalfClosedExchangeAsync(agent, ClusterFixture.TcpEchoPort, "\u0001binary, not http\r\n");

        Assert.Equal("\u0001binary, not http\r\n", echoed);
        Assert.Empty(session.Requests);
    }

    [Theory]
    [InlineData("GET /x HTTP/1.0\r\nX-Dev-User: test\r\n\r\n", TestSession.Answer)]
    [InlineData("GET /x HTTP/1.0\r\n\r\n", App + "\n")]
    [InlineData("POST /x HTTP/1.1\r\nHost: backend\r\nX-Dev-User: test\r\nConnection: close\r\nContent-Length: 4\r\n\r\nping", TestSession.Answer)]
    [InlineData("GET /x HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n", App + "\n")]
    [InlineData("GET /x HTTP/1.1\r\nHost: backend\r\nX-Dev-User: test\r\nConnection: close\r\n\r\n", TestSession.Answer)]
    [InlineData("GET /x HTTP/1.1\r\nHost: backend\r\nX-Dev-User: test\r\n\r\n", TestSession.Answer)]
    [InlineData("POST /x HTTP/1.0\r\nX-Dev-User: test\r\nContent-Length: 4\r\n\r\nping", TestSession.Answer)]
    public async Task AClientThatHalfClosesAfterItsRequestStillGetsTheAnswer(string request, string body)
    {
        // printf 'GET … HTTP/1.0\r\n\r\n' | nc host port: busybox nc sends its FIN when its input ends,
        // then reads the answer; the pod's own server answers it, so through doppel it must be answered too.
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout, ["--log-level", "debug"]);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        await using var session = await TestSession.StartAsync(channel, Timeout);
        Assert.Null((await session.SubscribeAsync(ClusterFixture.HttpPort, DevUserIsTest, Timeout)).Error);

        var text = await HalfClosedExchangeAsync(agent, ClusterFixture.HttpPort, request);
        Assert.True(text.StartsWith("HTTP/1.", StringComparison.Ordinal) && text.Contains(" 200 ", StringComparison.Ordinal), $"answer: '{text}'; agent: {agent.ErrorOutput}");
        var content = text[(text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        Assert.Equal(body, text.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase) ? Unchunk(content) : content);
    }

    [Fact]
    public async Task WhenTheSessionsCallIsCancelledItsSubscriptionsAreGoneAndRequestsReachTheApp()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        await using var session = await TestSession.StartAsync(channel, Timeout);
        Assert.Null((await session.SubscribeAsync(ClusterFixture.HttpPort, DevUserIsTest, Timeout)).Error);
        Assert.Equal(TestSession.Answer, await CurlAsync(["-H", "X-Dev-User: test", Url()]));

        session.CancelSubscribeCall();

        await WaitForAppAsync(["-H", "X-Dev-User: test"]);
    }

    [Fact]
    public async Task AfterTheAgentIsKilledNewConnectionsReachTheApp()
    {
        var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout);
        await using (agent)
        {
            using var channel = AgentProcess.Connect(agent.SocketPath);
            await using var session = await TestSession.StartAsync(channel, Timeout);
            Assert.Null((await session.SubscribeAsync(ClusterFixture.HttpPort, null, Timeout)).Error);
            Assert.Equal("stolen whole\n", await CurlAsync([Url()]));

            agent.Process.Kill(); // SIGKILL, only the agent this test started
            await agent.Process.WaitForExitAsync(Timeout);

            Assert.Equal($"{App}\n", await CurlAsync([Url()]));
            var tables = await cluster.Backend.ExecInNetworkAsync(["nft", "list", "tables"], Timeout);
            Assert.DoesNotContain("doppel_", tables.EnsureSuccess("nft list tables").StandardOutput, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// From the web pod: connects to the backend's <paramref name="port"/>, sends <paramref name="request"/>
    /// (ASCII), half-closes (as busybox nc at the end of its input), and returns all it is sent until
    /// the end; a reset fails the test with what came and the agent's log.
    /// </summary>
    private async Task<string> HalfClosedExchangeAsync(AgentProcess agent, int port, string request)
    {
        using var thread = Doppel.Linux.Namespaces.NetworkNamespaceThread.Start(cluster.ProcessPod.NetworkNamespacePath, "test-client");
        using var socket = await thread.RunAsync(() => new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp));
        await socket.ConnectAsync(cluster.Backend.IP, port, Timeout);
        await socket.SendAsync(System.Text.Encoding.ASCII.GetBytes(request), Timeout);
        socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        var received = new List<byte>();
        var buffer = new byte[4096];
        int n;
        try
        {
            while ((n = await socket.ReceiveAsync(buffer, Timeout)) > 0)
            {
                received.AddRange(buffer.AsSpan(0, n).ToArray());
            }
        }
        catch (System.Net.Sockets.SocketException e)
        {
            await Task.Delay(200, Timeout);
            Assert.Fail($"{e.Message} after '{System.Text.Encoding.ASCII.GetString([.. received])}'; agent: {agent.ErrorOutput}");
        }

        return System.Text.Encoding.ASCII.GetString([.. received]);
    }

    /// <summary>The data of a chunked body (RFC 9112 §7.1: hex size CRLF data CRLF …, 0 CRLF CRLF).</summary>
    private static string Unchunk(string chunked)
    {
        var data = new System.Text.StringBuilder();
        var at = 0;
        while (true)
        {
            var lineEnd = chunked.IndexOf("\r\n", at, StringComparison.Ordinal);
            var size = Convert.ToInt32(chunked[at..lineEnd].Split(';')[0], 16);
            if (size == 0)
            {
                return data.ToString();
            }

            data.Append(chunked, lineEnd + 2, size);
            at = lineEnd + 2 + size + 2;
        }
    }

    /// <summary>An HttpClient whose connections are sockets made in the web pod's namespace; <paramref name="connects"/> counts them.</summary>
    private HttpClient WebPodHttpClient(out ConnectCounter connects)
    {
        var counter = connects = new ConnectCounter();
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                Interlocked.Increment(ref counter.Value);
                using var thread = Doppel.Linux.Namespaces.NetworkNamespaceThread.Start(cluster.ProcessPod.NetworkNamespacePath, "test-client");
                var socket = await thread.RunAsync(() => new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp));
                await socket.ConnectAsync(System.Net.IPAddress.Parse(context.DnsEndPoint.Host), context.DnsEndPoint.Port, cancellationToken);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        };
        return new HttpClient(handler);
    }

    /// <summary>A count shared with a connect callback.</summary>
    private sealed class ConnectCounter
    {
        public int Value;

        public int Count => Volatile.Read(ref Value);
    }

    /// <summary>
    /// Reads <c>nghttp -s</c>'s table (<c>id responseEnd requestStart process code size request path</c>,
    /// one row per stream): request path → (status code, body size in bytes).
    /// </summary>
    private static Dictionary<string, (string Code, string Size)> NghttpStatistics(string output)
    {
        var streams = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
        var table = false;
        foreach (var line in output.Split('\n'))
        {
            var columns = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (table && columns.Length >= 6)
            {
                streams[columns[^1]] = (columns[^3], columns[^2]);
            }

            table |= line.StartsWith("id ", StringComparison.Ordinal);
        }

        return streams;
    }

    private Task<string> CurlAsync(IReadOnlyList<string> arguments) => CurlAsync(null, arguments);

    /// <summary>Runs curl in the web pod; on failure the message carries the agent's log.</summary>
    private async Task<string> CurlAsync(AgentProcess? agent, IReadOnlyList<string> arguments)
    {
        var result = await cluster.ProcessPod.ExecInNetworkAsync(["curl", "-sS", "-m", "10", .. arguments], Timeout);
        if (result.ExitCode != 0 && agent is not null)
        {
            await Task.Delay(200, Timeout);
            Assert.Fail($"curl {string.Join(' ', arguments)} failed ({result.ExitCode}): {result.StandardError}\nagent: {agent.ErrorOutput}");
        }

        return result.EnsureSuccess($"curl {string.Join(' ', arguments)}").StandardOutput;
    }

    /// <summary>Polls with curl until the app answers (the redirect change is applied asynchronously after the message is sent).</summary>
    private async Task WaitForAppAsync(IReadOnlyList<string>? extra = null)
    {
        var limit = Stopwatch.StartNew();
        while (true)
        {
            var result = await cluster.ProcessPod.ExecInNetworkAsync(["curl", "-sS", "-m", "5", .. extra ?? [], Url()], Timeout);
            if (result.StandardOutput == $"{App}\n")
            {
                return;
            }

            Assert.True(limit.Elapsed < TimeSpan.FromSeconds(30), $"the app never answered again; last answer: {result.StandardOutput}{result.StandardError}");
            await Task.Delay(100, Timeout);
        }
    }
}
