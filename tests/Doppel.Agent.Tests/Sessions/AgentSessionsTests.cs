using Doppel.Agent.Sessions;
using Doppel.Protocol.V1;
using Microsoft.Extensions.Time.Testing;

namespace Doppel.Agent.Tests.Sessions;

/// <summary>The agent's session records by connection, on a fake clock.</summary>
public sealed class AgentSessionsTests
{
    private static HelloRequest Alice => new() { User = "alice", Machine = "laptop1", Pid = 4242, ClientVersion = "0.1.0", SessionName = "bff" };

    [Fact]
    public void ASessionIsListedWhileOneOfItsConnectionsIsOpen()
    {
        var sessions = new AgentSessions(new FakeTimeProvider());
        sessions.Hello("a1", "c1", Alice);
        sessions.Bind("a1", "c2"); // a relay lane of the same session

        sessions.Closed("c1");
        var listed = Assert.Single(sessions.Connected());
        Assert.Equal("alice", listed.ToStatus().User);

        sessions.Closed("c2");
        Assert.Empty(sessions.Connected());
    }

    [Fact]
    public void ASessionThatReconnectsIsListedAgainAsItsHelloSaid()
    {
        var time = new FakeTimeProvider();
        var sessions = new AgentSessions(time);
        sessions.Hello("a1", "c1", Alice);
        var since = sessions.Connected()[0].Since;
        sessions.Closed("c1");
        time.Advance(TimeSpan.FromMinutes(1));

        sessions.Bind("a1", "c3");

        var status = Assert.Single(sessions.Connected()).ToStatus();
        Assert.Equal("laptop1", status.Machine);
        Assert.Equal(since.ToUnixTimeMilliseconds(), status.ConnectedUnixMs);
    }

    /// <summary>
    /// A session whose agent was placed anew reaches it without a Hello (its transport reconnects
    /// by itself): it is still listed with its user, machine and pid, from the Hello every call
    /// carries (a new user's report: <c>doppel status</c> showed only the session id).
    /// </summary>
    [Fact]
    public void ACallOfASessionThatNeverSaidHelloHereNamesItByTheHelloItCarries()
    {
        var sessions = new AgentSessions(new FakeTimeProvider());
        var call = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        call.Connection.Id = "c9";
        call.Request.Headers[Doppel.Protocol.SessionMetadata.Key] = "a1";
        call.Request.Headers[Doppel.Protocol.SessionMetadata.HelloKey] = Doppel.Protocol.SessionMetadata.EncodeHello(Alice).TrimEnd('='); // gRPC may drop the padding

        sessions.Bind(call);

        var status = Assert.Single(sessions.Connected()).ToStatus();
        Assert.Equal(("alice", "laptop1", 4242, "0.1.0"), (status.User, status.Machine, status.Pid, status.ClientVersion));
    }

    [Fact]
    public void AHelloHeaderThatIsNotOneLeavesTheSessionUnnamed()
    {
        var sessions = new AgentSessions(new FakeTimeProvider());
        var call = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        call.Connection.Id = "c9";
        call.Request.Headers[Doppel.Protocol.SessionMetadata.Key] = "a1";
        call.Request.Headers[Doppel.Protocol.SessionMetadata.HelloKey] = "not base64 at all!";

        sessions.Bind(call);

        Assert.Equal(string.Empty, Assert.Single(sessions.Connected()).ToStatus().User);
    }

    [Fact]
    public void AHelloWithoutASessionIdIsASessionOfItsConnectionAlone()
    {
        var sessions = new AgentSessions(new FakeTimeProvider());
        sessions.Hello(null, "c1", Alice);
        sessions.Hello(null, "c2", new HelloRequest { User = "bob" });

        Assert.Equal(["alice", "bob"], sessions.Connected().Select(s => s.ToStatus().User).Order());
        sessions.Closed("c1");
        Assert.Equal("bob", Assert.Single(sessions.Connected()).ToStatus().User);
    }

    [Fact]
    public void ASubscribeCallEndingForgetsOnlyItsOwnSubscriptions()
    {
        var sessions = new AgentSessions(new FakeTimeProvider());
        var session = sessions.Hello("a1", "c1", Alice);
        session.Subscribed("call-1", 8080, SubscriptionMode.Steal, "X-Dev-User: alice");
        session.Subscribed("call-2", 9090, SubscriptionMode.Mirror, string.Empty);
        session.CountRouted(connection: false);
        session.CountRouted(connection: true);

        session.CallEnded("call-1");

        var status = session.ToStatus();
        var left = Assert.Single(status.Subscriptions);
        Assert.Equal(9090u, left.Port);
        Assert.Equal(SubscriptionMode.Mirror, left.Mode);
        Assert.Equal(1ul, status.Requests);
        Assert.Equal(1ul, status.Connections);
    }

    [Fact]
    public void TheRecordOfASessionGoneLongerThanForgetIsRemoved()
    {
        var time = new FakeTimeProvider();
        var sessions = new AgentSessions(time);
        sessions.Hello("a1", "c1", Alice);
        sessions.Closed("c1");
        time.Advance(AgentSessions.Forget + TimeSpan.FromSeconds(1));
        Assert.Empty(sessions.Connected()); // prunes

        sessions.Bind("a1", "c2"); // a call after that: a new record without its Hello

        Assert.Equal(string.Empty, Assert.Single(sessions.Connected()).ToStatus().User);
    }
}
