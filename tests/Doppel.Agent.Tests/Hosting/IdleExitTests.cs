using Doppel.Agent.Hosting;
using Doppel.Agent.Sessions;
using Doppel.Protocol.V1;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Time.Testing;

namespace Doppel.Agent.Tests.Hosting;

/// <summary>The agent's idle exit on a fake clock: time moves only when a test advances it.</summary>
public sealed class IdleExitTests
{
    private static readonly TimeSpan Delay = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task TheAgentStaysWhileAClientIsConnectedAndStopsADelayAfterTheLastOneLeft()
    {
        var time = new FakeTimeProvider();
        var stops = 0;
        using var idle = new IdleExit(Delay, time, () => stops++);
        var first = Client.Open(idle);
        var second = Client.Open(idle);

        await first.CloseAsync();
        time.Advance(Delay * 3);
        Assert.Equal(0, stops); // the second client is still connected

        await second.CloseAsync();
        time.Advance(Delay - TimeSpan.FromMilliseconds(1));
        Assert.Equal(0, stops);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, stops);
    }

    [Fact]
    public async Task AClientComingBackWithinTheDelayKeepsTheAgent()
    {
        var time = new FakeTimeProvider();
        var stops = 0;
        using var idle = new IdleExit(Delay, time, () => stops++);
        await Client.Open(idle).CloseAsync();
        time.Advance(Delay / 2);

        var back = Client.Open(idle);
        time.Advance(Delay * 3);
        Assert.Equal(0, stops);

        await back.CloseAsync();
        time.Advance(Delay);
        Assert.Equal(1, stops);
    }

    [Fact]
    public void WithAFirstConnectionLimitAnAgentNobodyReachesStopsAtTheLimit()
    {
        var time = new FakeTimeProvider();
        var stops = 0;
        using var idle = new IdleExit(Delay, time, () => stops++);
        idle.WaitForFirst(TimeSpan.FromSeconds(120));

        time.Advance(TimeSpan.FromSeconds(120) - TimeSpan.FromMilliseconds(1));
        Assert.Equal(0, stops);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, stops);
    }

    [Fact]
    public async Task AFirstClientBeforeTheLimitCancelsItAndTheIdleDelayRulesAgain()
    {
        var time = new FakeTimeProvider();
        var stops = 0;
        using var idle = new IdleExit(Delay, time, () => stops++);
        idle.WaitForFirst(TimeSpan.FromSeconds(120));
        time.Advance(TimeSpan.FromSeconds(60));

        var client = Client.Open(idle);
        time.Advance(TimeSpan.FromSeconds(600));
        Assert.Equal(0, stops); // connected: neither the limit nor the idle delay

        await client.CloseAsync();
        time.Advance(Delay);
        Assert.Equal(1, stops);
    }

    [Fact]
    public void BeforeTheFirstClientTheAgentWaitsIndefinitely()
    {
        var time = new FakeTimeProvider();
        var stops = 0;
        using var idle = new IdleExit(Delay, time, () => stops++);

        time.Advance(TimeSpan.FromDays(1));

        Assert.Equal(0, stops);
    }

    [Fact]
    public async Task ASessionThatDroppedWithoutSayingItEndsIsWaitedForTheReconnectGrace()
    {
        var time = new FakeTimeProvider();
        var sessions = new AgentSessions(time);
        var stops = 0;
        using var idle = new IdleExit(Delay, time, () => stops++, () => sessions.AnyDropped(IdleExit.ReconnectGrace));
        var client = Client.Open(idle);
        sessions.Hello("alice", "c1", new HelloRequest { User = "alice" });

        // Its port-forward broke: the connection closed, no Ping(ending) came.
        sessions.Closed("c1");
        await client.CloseAsync();
        time.Advance(IdleExit.ReconnectGrace - TimeSpan.FromMilliseconds(1));
        Assert.Equal(0, stops);

        // It reconnects within the grace: the agent stays; it ends properly: agent.ttl rules again.
        var back = Client.Open(idle);
        sessions.Bind("alice", "c2").Ending = true;
        time.Advance(IdleExit.ReconnectGrace * 2);
        Assert.Equal(0, stops);
        sessions.Closed("c2");
        await back.CloseAsync();
        time.Advance(Delay);
        Assert.Equal(1, stops);
    }

    [Fact]
    public async Task ASessionThatSaidItEndsIsWaitedForTheDelayOnly()
    {
        var time = new FakeTimeProvider();
        var sessions = new AgentSessions(time);
        var stops = 0;
        using var idle = new IdleExit(Delay, time, () => stops++, () => sessions.AnyDropped(IdleExit.ReconnectGrace));
        var client = Client.Open(idle);
        sessions.Hello("alice", "c1", new HelloRequest { User = "alice" }).Ending = true;

        sessions.Closed("c1");
        await client.CloseAsync();
        time.Advance(Delay);

        Assert.Equal(1, stops);
    }

    /// <summary>One connection through <see cref="IdleExit.Wrap"/>, open until closed.</summary>
    private sealed class Client
    {
        private readonly TaskCompletionSource _close = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private Task _connection = Task.CompletedTask;

        public static Client Open(IdleExit idle)
        {
            var client = new Client();
            client._connection = idle.Wrap(_ => client._close.Task)(new DefaultConnectionContext());
            return client;
        }

        public async Task CloseAsync()
        {
            _close.SetResult();
            await _connection;
        }
    }
}
