using System.Diagnostics;
using Doppel.EndToEnd.Tests.Support;

namespace Doppel.EndToEnd.Tests.Incoming;

/// <summary>
/// <c>doppel exec --steal</c> end to end: the program listens (the interception layer reports the
/// listener), the session subscribes the backend pod's port at the real agent, and curl in another
/// pod reaches the program on the developer's side.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class StealTests(ClusterFixture fixture)
{
    [Fact]
    public async Task AStolenPortsRequestReachesTheProgramAndItsProgressLineAndCountAreShown()
    {
        await using var doppel = fixture.Start(["-v", "-t", $"pid/{fixture.Backend.Pid}", "--steal", "--", ClusterFixture.Python, "-c", IncomingPrograms.OneRequestServer]);
        Assert.Equal("listening", await doppel.ReadLineAsync(TimeSpan.FromSeconds(60)));

        // The subscription follows the listen asynchronously: until it is in place the pod's app answers.
        var limit = Stopwatch.StartNew();
        string answer;
        do
        {
            var result = await fixture.Other.ExecInNetworkAsync(["curl", "-sS", "-m", "5", $"http://{fixture.Backend.IP}/"], CancellationToken.None);
            answer = result.StandardOutput;
            Assert.True(limit.Elapsed < TimeSpan.FromSeconds(30), $"the program never got the request; last answer: {answer}{result.StandardError}\n{doppel.SoFar}");
        }
        while (answer != "the developer's app\n");

        var exited = await doppel.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, exited.ExitCode);
        Assert.Contains("steal :80 → localhost:80\n", exited.Stderr, StringComparison.Ordinal);
        Assert.Contains("incoming: steal :80: 0 requests, 1 connection\n", exited.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("error:", exited.Stderr, StringComparison.Ordinal);
    }
}
