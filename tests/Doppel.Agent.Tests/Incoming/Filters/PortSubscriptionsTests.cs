using Doppel.Agent.Incoming;
using static Doppel.Agent.Tests.Incoming.Filters.Requests;

namespace Doppel.Agent.Tests.Incoming.Filters;

public sealed class PortSubscriptionsTests
{
    [Fact]
    public void TheEarliestSubscriptionWinsAndALaterOverlappingSessionIsToldOnce()
    {
        var port = new PortSubscriptions();
        var alice = port.Add("alice", Compile(Header("^x-dev-user: alice$")));
        var team = port.Add("team", Compile(Header("^x-dev-user: (alice|bob)$")));

        var first = port.Choose(Get("/", "X-Dev-User: alice"), null);
        var second = port.Choose(Get("/", "X-Dev-User: alice"), null);
        var bob = port.Choose(Get("/", "X-Dev-User: bob"), null);

        Assert.Equal(alice, first.Winner);
        Assert.Equal([team], first.AlsoMatched);
        Assert.Equal([team], first.NewOverlaps);
        Assert.Equal(alice, second.Winner);
        Assert.Equal([team], second.AlsoMatched);
        Assert.Empty(second.NewOverlaps);
        Assert.Equal((team, 0), (bob.Winner, bob.AlsoMatched.Count));
    }

    [Fact]
    public void ARequestNoFilterMatchesGoesToThePodsApp()
    {
        var port = new PortSubscriptions();
        port.Add("alice", Compile(Header("^x-dev-user: alice$")));

        var choice = port.Choose(Get("/"), null);

        Assert.Null(choice.Winner);
        Assert.Empty(choice.AlsoMatched);
    }

    [Fact]
    public void WhenTheWinnerLeavesTheNextMatchingSubscriptionTakesOverAndIsToldAgainLater()
    {
        var port = new PortSubscriptions();
        var first = port.Add("alice", Compile(Path("^/api")));
        var second = port.Add("bob", Compile(Path("^/api")));
        Assert.Equal([second], port.Choose(Get("/api"), null).NewOverlaps);

        Assert.True(port.Remove(first));
        var third = port.Add("carol", Compile(Path("^/api")));
        var choice = port.Choose(Get("/api"), null);

        Assert.False(port.Remove(first));
        Assert.Equal(second, choice.Winner);
        Assert.Equal([third], choice.NewOverlaps);
        Assert.Equal(1, port.RemoveSession("bob"));
        Assert.Equal(third, port.Choose(Get("/api"), null).Winner);
    }

    [Fact]
    public void TwoFiltersOfOneSessionAreNoOverlap()
    {
        var port = new PortSubscriptions();
        port.Add("alice", Compile(Path("^/a")));
        port.Add("alice", Compile(Path("^/")));

        Assert.Empty(port.Choose(Get("/a"), null).AlsoMatched);
    }

    [Fact]
    public void TheBodyIsNeededOnlyWhenSomeFilterLooksAtIt()
    {
        var port = new PortSubscriptions();
        port.Add("alice", Compile(Header("^x-dev-user: alice$")));
        Assert.False(port.NeedsBody);

        port.Add("bob", Compile(Json("$.user", "^bob$")));

        Assert.True(port.NeedsBody);
    }

    [Fact]
    public async Task ChoosingWhileSessionsComeAndGoNeverMissesAStableSubscription()
    {
        var port = new PortSubscriptions();
        var stable = port.Add("alice", Compile(Header("^x-dev-user: alice$")));
        var request = Get("/", "X-Dev-User: alice");

        var churn = Task.Run(() =>
        {
            for (var i = 0; i < 2_000; i++)
            {
                port.Remove(port.Add("bob" + i, Compile(Header("^x-dev-user: bob$"))));
            }
        });
        var wrong = 0;
        while (!churn.IsCompleted)
        {
            wrong += port.Choose(request, null).Winner == stable ? 0 : 1;
        }

        await churn;
        Assert.Equal(0, wrong);
    }
}
