using Doppel.Protocol.V1;
using Doppel.Testing;

namespace Doppel.Agent.Tests.Incoming;

/// <summary>
/// A whole-port steal beside other sessions' filtered steals of the same port (a team sharing one
/// workload, issue 12): it would take their requests too, so it is a conflict that follows
/// on_concurrent_steal either way round, as two whole steals do — never a silent take-over.
/// </summary>
public sealed partial class IncomingTests
{
    [Fact]
    public async Task AWholeStealBesideAFilteredOneIsRefusedNamingItsSessionAndTheFilteredOneKeepsItsRequests()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        await using var alice = await TestSession.StartAsync(channel, Timeout);
        await using var bob = await TestSession.StartAsync(channel, Timeout);
        Assert.Null((await alice.SubscribeAsync(ClusterFixture.HttpPort, DevUserIsTest, Timeout)).Error);

        var refused = await bob.SubscribeAsync(ClusterFixture.HttpPort, null, Timeout);

        Assert.Equal(Doppel.Linux.Native.Errno.EADDRINUSE, refused.Error.Errno);
        Assert.StartsWith($"Port {ClusterFixture.HttpPort} is stolen by HTTP filter by test-session, and a whole steal would take their requests too; ", refused.Error.Message, StringComparison.Ordinal);
        Assert.Equal(TestSession.Answer, await CurlAsync(agent, ["-H", "X-Dev-User: test", Url("/mine")]));
        Assert.Equal($"{App}\n", await CurlAsync(agent, [Url("/theirs")]));
    }

    [Fact]
    public async Task AWholeStealWithContinueWaitsUntilTheFilteredStealLeavesThenTakesThePort()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        await using var alice = await TestSession.StartAsync(channel, Timeout);
        await using var bob = await TestSession.StartAsync(channel, Timeout);
        Assert.Null((await alice.SubscribeAsync(ClusterFixture.HttpPort, DevUserIsTest, Timeout)).Error);

        Assert.Null((await bob.SubscribeAsync(ClusterFixture.HttpPort, null, Timeout, onConcurrentSteal: ConcurrentSteal.Continue)).Error);

        Assert.StartsWith($"Port {ClusterFixture.HttpPort} is stolen by HTTP filter by test-session: the port is yours once they leave", Assert.Single(bob.Notices), StringComparison.Ordinal);
        Assert.Equal(TestSession.Answer, await CurlAsync(agent, ["-H", "X-Dev-User: test", Url("/mine")]));
        Assert.Equal($"{App}\n", await CurlAsync(agent, [Url("/theirs")]));
        Assert.Single(alice.Requests);

        await alice.UnsubscribeAsync(ClusterFixture.HttpPort, Timeout);
        await UntilAnswerAsync(agent, "stolen whole\n");
        Assert.Equal("stolen whole\n", await CurlAsync(agent, ["-H", "X-Dev-User: test", Url("/mine")]));
    }

    [Fact]
    public async Task AWholeStealWithOverrideTakesThePortAndTellsTheFilteredSession()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        await using var alice = await TestSession.StartAsync(channel, Timeout);
        await using var bob = await TestSession.StartAsync(channel, Timeout);
        Assert.Null((await alice.SubscribeAsync(ClusterFixture.HttpPort, DevUserIsTest, Timeout)).Error);

        Assert.Null((await bob.SubscribeAsync(ClusterFixture.HttpPort, null, Timeout, onConcurrentSteal: ConcurrentSteal.Override)).Error);

        Assert.Equal($"test-session took port {ClusterFixture.HttpPort} whole (on_concurrent_steal = override); your filtered requests go to them until they leave.", await alice.NextNoticeAsync(Timeout));
        Assert.Equal("stolen whole\n", await CurlAsync(agent, ["-H", "X-Dev-User: test", Url("/mine")]));
    }

    [Fact]
    public async Task AFilteredStealUnderAWholeOneIsRefusedByDefaultAndWithContinueWaitsForThePort()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        await using var bob = await TestSession.StartAsync(channel, Timeout);
        await using var alice = await TestSession.StartAsync(channel, Timeout);
        Assert.Null((await bob.SubscribeAsync(ClusterFixture.HttpPort, null, Timeout)).Error);

        var refused = await alice.SubscribeAsync(ClusterFixture.HttpPort, DevUserIsTest, Timeout);
        Assert.Equal(Doppel.Linux.Native.Errno.EADDRINUSE, refused.Error.Errno);
        Assert.StartsWith($"Port {ClusterFixture.HttpPort} is already stolen whole by test-session, who would get your filtered requests; ", refused.Error.Message, StringComparison.Ordinal);

        Assert.Null((await alice.SubscribeAsync(ClusterFixture.HttpPort, DevUserIsTest, Timeout, onConcurrentSteal: ConcurrentSteal.Continue)).Error);
        Assert.Contains($"Port {ClusterFixture.HttpPort} is stolen whole by test-session: your filtered requests go to them until they leave", Assert.Single(alice.Notices), StringComparison.Ordinal);
        Assert.Equal("stolen whole\n", await CurlAsync(agent, ["-H", "X-Dev-User: test", Url("/mine")]));

        await bob.UnsubscribeAsync(ClusterFixture.HttpPort, Timeout);
        await UntilAnswerAsync(agent, $"{App}\n");
        Assert.Equal(TestSession.Answer, await CurlAsync(agent, ["-H", "X-Dev-User: test", Url("/mine")]));
    }

    /// <summary>Polls with curl (no header) until the answer is <paramref name="expected"/> (an unsubscription is applied asynchronously); at most 30 s.</summary>
    private async Task UntilAnswerAsync(AgentProcess agent, string expected)
    {
        var limit = System.Diagnostics.Stopwatch.StartNew();
        string last;
        while ((last = await CurlAsync(agent, [Url("/poll")])) != expected)
        {
            Assert.True(limit.Elapsed < TimeSpan.FromSeconds(30), $"the answer never became '{expected.TrimEnd()}'; last: {last}");
            await Task.Delay(100, Timeout);
        }
    }
}
