using Doppel.Session.Incoming;
using Microsoft.Extensions.Logging.Abstractions;

namespace Doppel.Session.Tests.Incoming;

/// <summary>
/// An outage of a session's incoming subscriptions is one warning and one line when it is over,
/// however many replicas' agents lost them (<see cref="IncomingOutage"/>; issue 12 item 5).
/// </summary>
public sealed class IncomingOutageTests
{
    private readonly List<string> _warnings = [];
    private readonly List<string> _info = [];

    [Fact]
    public void EveryAgentLosingItsSubscriptionsIsOneWarningAndTheLastOneBackIsOneLine()
    {
        var outage = new IncomingOutage(_warnings.Add, _info.Add, NullLogger.Instance);
        var own = outage.For("", "");
        var replica = outage.For("pod b", "replica pod b: ");

        own.Lost("own lost");
        replica.Lost("lost");
        own.Back("own back");
        Assert.Empty(_info); // pod b has not got them again yet
        replica.Back("back");

        Assert.Equal(["own lost"], _warnings);
        Assert.Equal(["back (at 2 replicas)"], _info); // the session's line, not pod b's
    }

    [Fact]
    public void ALaterOutageIsSaidAgain()
    {
        var outage = new IncomingOutage(_warnings.Add, _info.Add, NullLogger.Instance);
        var replica = outage.For("pod b", "replica pod b: ");

        replica.Lost("lost 1");
        replica.Back("back 1");
        replica.Lost("lost 2");
        replica.Lost("lost 2 again"); // lost again while reconnecting: part of the same outage
        replica.Back("back 2");

        Assert.Equal(["replica pod b: lost 1", "replica pod b: lost 2"], _warnings);
        Assert.Equal(["replica pod b: back 1", "replica pod b: back 2"], _info);
    }

    [Fact]
    public void AReplicaRemovedWhileLostEndsTheOutageUnsaidAndTheNextOneIsSaid()
    {
        var outage = new IncomingOutage(_warnings.Add, _info.Add, NullLogger.Instance);
        var own = outage.For("", "");
        var replica = outage.For("pod b", "replica pod b: ");

        replica.Lost("lost");
        outage.Forget("pod b"); // its pod went: no return to wait for
        own.Back("not lost, nothing to say");
        own.Lost("own lost");

        Assert.Equal(["replica pod b: lost", "own lost"], _warnings);
        Assert.Empty(_info);
    }
}
