using System.Diagnostics;
using Doppel.Protocol.V1;
using Doppel.Testing;
using Grpc.Core;

namespace Doppel.Agent.Tests.Incoming;

/// <summary>
/// Steal through the real agent: the "backend" pod's HTTP server is the app, the test is the
/// session (Subscribe + Serve through the generated client), curl in the "web" pod is the client.
/// </summary>
public sealed class IncomingTests(ClusterFixture cluster) : IClassFixture<ClusterFixture>
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

    [Theory]
    [InlineData("--http1.1")]
    [InlineData("--http2-prior-knowledge")]
    public async Task AFilteredStealTakesTheMatchingRequestAndTheAppKeepsTheOtherOnOneConnection(string version)
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout, ["--log-level", "debug"]);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        await using var session = await TestSession.StartAsync(channel, Timeout);
        Assert.Null((await session.SubscribeAsync(ClusterFixture.HttpPort, new HttpFilter { Path = "^/mine$" }, Timeout)).Error);

        // Two URLs in one curl: the second reuses the connection (num_connects 0). (curl 7.88's
        // --next breaks a reused h2c connection by itself, so the filter is on the path here.)
        var output = await CurlAsync(agent, [version, "-w", "|%{http_version} %{num_connects}|\n", Url("/mine"), Url("/theirs")]);

        var expectedVersion = version == "--http1.1" ? "1.1" : "2";
        Assert.Equal($"{TestSession.Answer}|{expectedVersion} 1|\n{App}\n|{expectedVersion} 0|\n", output);
        var head = Assert.Single(session.Requests);
        Assert.Equal("/mine", head.Target);
        Assert.Equal(version == "--http1.1" ? "HTTP/1.1" : "HTTP/2", head.Version);
        Assert.Equal(cluster.ProcessPod.IP, head.Client.ToIPEndPoint().Address);
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
