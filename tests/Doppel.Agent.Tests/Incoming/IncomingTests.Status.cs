using System.Diagnostics;
using Doppel.Protocol;
using Doppel.Protocol.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Doppel.Agent.Tests.Incoming;

/// <summary>AgentService.Status through the real agent: who is on the target, what they subscribed, what reached them, and who has gone.</summary>
public sealed partial class IncomingTests
{
    [Fact]
    public async Task StatusListsEachSessionWithItsFilterAndTheRequestsRoutedToIt()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout);
        using var aliceChannel = AgentProcess.Connect(agent.SocketPath);
        using var bobChannel = AgentProcess.Connect(agent.SocketPath);
        await using var alice = await JoinAsync(aliceChannel, "alice-session", "alice", "laptop1");
        await using var bob = await JoinAsync(bobChannel, "bob-session", "bob", "laptop2");
        Assert.Null((await alice.SubscribeAsync(ClusterFixture.HttpPort, new HttpFilter { Header = "^X-Dev-User: alice$" }, Timeout)).Error);
        Assert.Null((await bob.SubscribeAsync(ClusterFixture.HttpPort, new HttpFilter { AllOf = new HttpFilterList { Filters = { new HttpFilter { Header = "^X-Dev-User: bob$" }, new HttpFilter { Method = "GET" } } } }, Timeout, SubscriptionMode.Mirror)).Error);

        Assert.Equal(TestSession.Answer, await CurlAsync(agent, ["-H", "X-Dev-User: alice", Url("/a")]));
        Assert.Equal(TestSession.Answer, await CurlAsync(agent, ["-H", "X-Dev-User: alice", Url("/b")]));

        // The asker (no Hello, no doppel-session-id) is not a session.
        using var asker = AgentProcess.Connect(agent.SocketPath);
        var status = await new AgentService.AgentServiceClient(asker).StatusAsync(new StatusRequest(), cancellationToken: Timeout);

        Assert.Equal(cluster.Backend.Pid, status.Target.Pid);
        Assert.Equal(ProtocolVersion.Current, status.ProtocolVersion);
        Assert.Equal(["alice-session", "bob-session"], status.Sessions.Select(s => s.Id));
        var first = status.Sessions[0];
        Assert.Equal(("alice", "laptop1", 4242), (first.User, first.Machine, first.Pid));
        var subscription = Assert.Single(first.Subscriptions);
        Assert.Equal((ClusterFixture.HttpPort, SubscriptionMode.Steal, "^X-Dev-User: alice$"), ((int)subscription.Port, subscription.Mode, subscription.Filter));
        Assert.Equal(2ul, first.Requests);
        Assert.True(first.ConnectedUnixMs >= status.StartedUnixMs);
        var second = status.Sessions[1];
        Assert.Equal("^X-Dev-User: bob$ and method GET", Assert.Single(second.Subscriptions).Filter);
        Assert.Equal(SubscriptionMode.Mirror, second.Subscriptions[0].Mode);
        Assert.Equal(0ul, second.Requests);
    }

    [Fact]
    public async Task ASessionWhoseConnectionClosesIsDroppedWithinFiveSecondsAndTheAppGetsItsPortBack()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout);
        using var stayingChannel = AgentProcess.Connect(agent.SocketPath);
        await using var staying = await JoinAsync(stayingChannel, "staying", "bob", "laptop2");
        var leavingChannel = AgentProcess.Connect(agent.SocketPath);
        var leaving = await JoinAsync(leavingChannel, "leaving", "alice", "laptop1");
        Assert.Null((await leaving.SubscribeAsync(ClusterFixture.HttpPort, null, Timeout)).Error);
        Assert.Equal("stolen whole\n", await CurlAsync([Url()]));

        // The socket closes as a killed process's would: nothing is unsubscribed first.
        leavingChannel.Dispose();
        var gone = Stopwatch.StartNew();
        using var asker = AgentProcess.Connect(agent.SocketPath);
        var client = new AgentService.AgentServiceClient(asker);
        while ((await client.StatusAsync(new StatusRequest(), cancellationToken: Timeout)).Sessions.Any(s => s.Id == "leaving"))
        {
            Assert.True(gone.Elapsed < TimeSpan.FromSeconds(5), "the agent still lists a session whose connection closed 5 s ago (issue 12 item 5)");
            await Task.Delay(50, Timeout);
        }

        Assert.Equal("staying", Assert.Single((await client.StatusAsync(new StatusRequest(), cancellationToken: Timeout)).Sessions).Id);
        await WaitForAppAsync();
        try
        {
            await leaving.DisposeAsync();
        }
        catch (ObjectDisposedException)
        {
            // its Serve loops found the channel gone, as they should
        }
    }

    /// <summary>A session as doppel opens one: Hello with who it is, then Subscribe, both carrying doppel-session-id.</summary>
    private static async Task<TestSession> JoinAsync(GrpcChannel channel, string id, string user, string machine)
    {
        var headers = new Metadata { { SessionMetadata.Key, id } };
        await new AgentService.AgentServiceClient(channel).HelloAsync(
            new HelloRequest { MinVersion = ProtocolVersion.MinimumSupported, MaxVersion = ProtocolVersion.Current, ClientVersion = "test", User = user, Machine = machine, Pid = 4242, SessionName = id },
            headers,
            cancellationToken: Timeout);
        return await TestSession.StartAsync(channel, Timeout, headers: headers);
    }
}
