using System.Net.Sockets;
using Doppel.Protocol.V1;

namespace Doppel.Agent.Tests.Incoming;

/// <summary>
/// Mirror through the real agent: the client always gets the pod's app's answer, and the mirroring
/// session (the test) gets a copy — of whole connections, or of matching requests.
/// </summary>
public sealed partial class IncomingTests
{
    [Fact]
    public async Task AWholePortMirrorGivesTheClientTheAppsAnswerAndTheSessionACopyOfTheBytes()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        await using var session = await TestSession.StartAsync(channel, Timeout);
        Assert.Null((await session.SubscribeAsync(ClusterFixture.HttpPort, null, Timeout, SubscriptionMode.Mirror)).Error);

        Assert.Equal($"{App}\n", await CurlAsync(agent, [Url("/copied")]));

        await UntilAsync(() => session.MirroredHalfCloses == 1);
        lock (session.MirroredBytes)
        {
            Assert.StartsWith("GET /copied HTTP/1.1\r\n", session.MirroredBytes.ToString(), StringComparison.Ordinal);
            Assert.EndsWith("\r\n\r\n", session.MirroredBytes.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AFilteredMirrorGetsACopyOfEachMatchingRequestOverHttp11AndH2cAndTheClientTheAppsAnswers()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        await using var session = await TestSession.StartAsync(channel, Timeout);
        Assert.Null((await session.SubscribeAsync(ClusterFixture.HttpPort, new HttpFilter { Path = "^/mine$" }, Timeout, SubscriptionMode.Mirror)).Error);

        // HTTP/1.1: two requests on one connection, only /mine is copied.
        var output = await CurlAsync(agent, ["--http1.1", "-w", "|%{num_connects}|\n", Url("/mine"), Url("/theirs")]);
        Assert.Equal($"{App}\n|1|\n{App}\n|0|\n", output);
        await UntilAsync(() => Count(session) == 1);

        // h2c: the same on one HTTP/2 connection.
        using var client = WebPodHttpClient(out var connects);
        foreach (var path in new[] { "/theirs", "/mine" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, Url(path)) { Version = System.Net.HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
            using var response = await client.SendAsync(request, Timeout);
            Assert.Equal($"{App}\n", await response.Content.ReadAsStringAsync(Timeout));
        }

        Assert.Equal(1, connects.Count);
        await UntilAsync(() => Count(session) == 2);
        lock (session.Requests)
        {
            Assert.All(session.Requests, head => Assert.True(head.Mirror));
            Assert.All(session.Requests, head => Assert.Equal("/mine", head.Target));
            Assert.Equal(new[] { "HTTP/1.1", "HTTP/2" }, session.Requests.Select(head => head.Version));
        }
    }

    [Fact]
    public async Task ARequestStolenByOneSessionIsStillCopiedToASessionThatMirrorsIt()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        await using var stealer = await TestSession.StartAsync(channel, Timeout);
        await using var mirror = await TestSession.StartAsync(channel, Timeout);
        Assert.Null((await stealer.SubscribeAsync(ClusterFixture.HttpPort, DevUserIsTest, Timeout)).Error);
        Assert.Null((await mirror.SubscribeAsync(ClusterFixture.HttpPort, DevUserIsTest, Timeout, SubscriptionMode.Mirror)).Error);

        Assert.Equal(TestSession.Answer, await CurlAsync(agent, ["-H", "X-Dev-User: test", "-d", "the body", Url("/both")]));

        await UntilAsync(() => Count(mirror) == 1);
        Assert.False(Assert.Single(stealer.Requests).Mirror);
        Assert.True(Assert.Single(mirror.Requests).Mirror);
    }

    [Fact]
    public async Task AMirrorThatNeverReadsLeavesTheClientAtFullPaceAndItsDroppedCopiesAreReported()
    {
        const int Total = 64 * 1024 * 1024; // well beyond the session's 16 MiB queue and its call's 4 MiB window
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        await using var session = await TestSession.StartAsync(channel, Timeout, serveCalls: 0);
        var silent = await session.OpenSilentServeCallsAsync(2, Timeout);
        try
        {
            Assert.Null((await session.SubscribeAsync(ClusterFixture.TcpEchoPort, null, Timeout, SubscriptionMode.Mirror)).Error);

            using var thread = Doppel.Linux.Namespaces.NetworkNamespaceThread.Start(cluster.ProcessPod.NetworkNamespacePath, "test-client");
            using var socket = await thread.RunAsync(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
            await socket.ConnectAsync(cluster.Backend.IP, ClusterFixture.TcpEchoPort, Timeout);
            var send = Task.Run(async () =>
            {
                var chunk = new byte[64 * 1024];
                for (var sent = 0; sent < Total; sent += chunk.Length)
                {
                    await socket.SendAsync(chunk, Timeout);
                }

                socket.Shutdown(SocketShutdown.Send);
            });
            long echoed = 0;
            var buffer = new byte[256 * 1024];
            int n;
            while ((n = await socket.ReceiveAsync(buffer, Timeout)) > 0)
            {
                echoed += n;
            }

            await send;
            Assert.Equal(Total, echoed);

            var dropped = await session.NextMirrorDroppedAsync(ClusterFixture.TcpEchoPort, Timeout);
            Assert.Equal(1UL, dropped.Copies);
            Assert.True(dropped.Bytes > 0, "the report counts the bytes the copy did not carry");
            Assert.Contains("mirror copies for 'test-session' on port 7070 are being dropped", agent.ErrorOutput, StringComparison.Ordinal);
        }
        finally
        {
            foreach (var call in silent)
            {
                call.Dispose();
            }
        }
    }

    private static int Count(TestSession session)
    {
        lock (session.Requests)
        {
            return session.Requests.Count;
        }
    }

    /// <summary>Waits (within the test's time-out) until <paramref name="condition"/> holds: copies arrive after the client's answer.</summary>
    private static async Task UntilAsync(Func<bool> condition)
    {
        var timeout = Timeout;
        while (!condition())
        {
            await Task.Delay(20, timeout);
        }
    }
}
