using Doppel.Agent.Hosting;
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
