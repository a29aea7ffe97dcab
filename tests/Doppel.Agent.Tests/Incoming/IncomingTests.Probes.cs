using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Doppel.Agent.Tests.Incoming;

/// <summary>
/// The kubelet's HTTP probes under a whole-port steal (issue P8): on a port the agent was told is
/// probed (<c>--http-probe-ports</c>), a <c>User-Agent: kube-probe/…</c> request reaches the pod's
/// app and everything else is stolen as before; on other ports probes are stolen like any request.
/// </summary>
public sealed partial class IncomingTests
{
    private static readonly string[] s_probedHttpPort = ["--http-probe-ports", ClusterFixture.HttpPort.ToString(CultureInfo.InvariantCulture)];

    [Fact]
    public async Task AWholeStealOfAProbedPortLeavesKubeProbesToTheAppAndStealsEverythingElse()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout, s_probedHttpPort);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        await using var session = await TestSession.StartAsync(channel, Timeout);
        Assert.Null((await session.SubscribeAsync(ClusterFixture.HttpPort, null, Timeout)).Error);

        var probe = await CurlAsync(agent, ["-A", "kube-probe/1.31", Url("/healthz")]);
        var other = await CurlAsync(agent, [Url("/healthz")]);
        var notAProbe = await CurlAsync(agent, ["-A", "not-kube-probe/1.31", Url("/healthz")]);

        Assert.Equal($"{App}\n", probe);
        Assert.Equal("stolen whole\n", other);
        Assert.Equal("stolen whole\n", notAProbe);
    }

    [Fact]
    public async Task AKubeProbeWhoseHeadComesInPiecesStillReachesTheAppAndNonHttpBytesAreStolenWithoutWaiting()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout, s_probedHttpPort);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        await using var session = await TestSession.StartAsync(channel, Timeout);
        Assert.Null((await session.SubscribeAsync(ClusterFixture.HttpPort, null, Timeout)).Error);

        var probe = await WebPodExchangeAsync(["GET /healthz HTTP/1.1\r\nHost: backend\r\n", "User-Agent: kube-probe/1.31\r\nAccept: */*\r\n", "Connection: close\r\n\r\n"]);
        var started = Stopwatch.StartNew();
        var notHttp = await WebPodExchangeAsync(["\u0016\u0003\u0001 not http\r\n\r\n"]);

        Assert.Contains(App, probe, StringComparison.Ordinal);
        Assert.EndsWith("stolen whole\n", notHttp, StringComparison.Ordinal);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(1.5), $"non-HTTP bytes waited {started.Elapsed} for the read-ahead");
    }

    [Fact]
    public async Task AWholeStealOfAPortWithoutProbesStealsKubeProbesToo()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout, ["--http-probe-ports", LateH2cPort.ToString(CultureInfo.InvariantCulture)]);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        await using var session = await TestSession.StartAsync(channel, Timeout);
        Assert.Null((await session.SubscribeAsync(ClusterFixture.HttpPort, null, Timeout)).Error);

        Assert.Equal("stolen whole\n", await CurlAsync(agent, ["-A", "kube-probe/1.31", Url("/healthz")]));
    }

    /// <summary>
    /// Connects from the web pod to the backend's HTTP port, sends <paramref name="pieces"/> 200 ms
    /// apart, half-closes and reads the answer to its end (at most 10 s).
    /// </summary>
    private async Task<string> WebPodExchangeAsync(IReadOnlyList<string> pieces)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var thread = Doppel.Linux.Namespaces.NetworkNamespaceThread.Start(cluster.ProcessPod.NetworkNamespacePath, "test-client");
        using var socket = await thread.RunAsync(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        await socket.ConnectAsync(cluster.Backend.IP, ClusterFixture.HttpPort, deadline.Token);
        for (var i = 0; i < pieces.Count; i++)
        {
            if (i > 0)
            {
                await Task.Delay(200, deadline.Token);
            }

            await socket.SendAsync(Encoding.Latin1.GetBytes(pieces[i]), deadline.Token);
        }

        socket.Shutdown(SocketShutdown.Send);
        var received = new StringBuilder();
        var buffer = new byte[4096];
        int n;
        while ((n = await socket.ReceiveAsync(buffer, deadline.Token)) > 0)
        {
            received.Append(Encoding.Latin1.GetString(buffer, 0, n));
        }

        return received.ToString();
    }
}
