using Doppel.Session.Incoming;
using Microsoft.Extensions.Time.Testing;

namespace Doppel.Session.Tests.Incoming;

/// <summary>A refused subscription's sentence reaches the terminal once per 30 s, not twice a second per replica (<see cref="QuietRepeats"/>).</summary>
public sealed class QuietRepeatsTests
{
    [Fact]
    public void TheSameLineIsSaidOncePerQuietTimeAndLoggedBetween()
    {
        var time = new FakeTimeProvider();
        var said = new List<string>();
        var logged = new List<string>();
        var quiet = new QuietRepeats(time, logged.Add);

        quiet.Say("replica pod a: port 8080 is refused", said.Add);
        time.Advance(TimeSpan.FromMilliseconds(500));
        quiet.Say("replica pod a: port 8080 is refused", said.Add);
        quiet.Say("replica pod b: port 8080 is refused", said.Add); // another replica's line is its own
        time.Advance(QuietRepeats.Quiet);
        quiet.Say("replica pod a: port 8080 is refused", said.Add);

        Assert.Equal(["replica pod a: port 8080 is refused", "replica pod b: port 8080 is refused", "replica pod a: port 8080 is refused"], said);
        Assert.Equal(["replica pod a: port 8080 is refused"], logged);
    }

    [Fact]
    public void ANoticeEveryReplicasAgentSendsIsSaidOnceWithTheFirstReplicasName()
    {
        var time = new FakeTimeProvider();
        var said = new List<string>();
        var logged = new List<string>();
        var quiet = new QuietRepeats(time, logged.Add);
        const string Notice = "another session steals the same requests on port 8080";

        quiet.Say(Notice, "replica pod b: " + Notice, said.Add);
        quiet.Say(Notice, "replica pod c: " + Notice, said.Add);
        quiet.Say(Notice, Notice, said.Add); // the session's own agent's, a moment later
        quiet.Say("replica pod c: the agent refused port 9090", said.Add);
        time.Advance(QuietRepeats.Quiet);
        quiet.Say(Notice, "replica pod c: " + Notice, said.Add);

        Assert.Equal(["replica pod b: " + Notice, "replica pod c: the agent refused port 9090", "replica pod c: " + Notice], said);
        Assert.Equal(["replica pod c: " + Notice, Notice], logged);
    }
}
