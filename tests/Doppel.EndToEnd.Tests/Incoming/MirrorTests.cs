using System.Diagnostics;
using Doppel.EndToEnd.Tests.Support;

namespace Doppel.EndToEnd.Tests.Incoming;

/// <summary>
/// <c>doppel exec</c> with incoming mode mirror (the default) end to end: the program listens, the
/// session subscribes the backend pod's port at the real agent in mirror mode, curl in another pod
/// gets the pod's answer, and the program sees a copy of the request.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class MirrorTests(ClusterFixture fixture)
{
    [Fact]
    public async Task AMirroredRequestGetsThePodsAnswerAndAlsoReachesTheProgram()
    {
        await using var doppel = fixture.Start(["-v", "-t", $"pid/{fixture.Backend.Pid}", "--", ClusterFixture.Python, "-c", IncomingPrograms.OneRequestServer]);
        Assert.Equal("listening", await doppel.ReadLineAsync(TimeSpan.FromSeconds(60)));

        // The subscription follows the listen asynchronously: requests before it reach only the pod's app.
        var seen = doppel.ReadLineAsync(TimeSpan.FromSeconds(60));
        var limit = Stopwatch.StartNew();
        var tries = 0;
        while (!seen.IsCompleted)
        {
            tries++;
            var result = await fixture.Other.ExecInNetworkAsync(["curl", "-sS", "-m", "5", $"http://{fixture.Backend.IP}/try-{tries}"], CancellationToken.None);
            Assert.Equal(ClusterFixture.BackendBody, result.StandardOutput);
            Assert.True(limit.Elapsed < TimeSpan.FromSeconds(30), $"the program never saw a copy; {tries} requests sent");
            await Task.WhenAny(seen, Task.Delay(100));
        }

        Assert.StartsWith("saw GET /try-", await seen, StringComparison.Ordinal);
        var exited = await doppel.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, exited.ExitCode);
        Assert.Contains("mirror :80 → localhost:80\n", exited.Stderr, StringComparison.Ordinal);
        // A request sent while the first copy was on its way may have been copied too (and found the program gone).
        Assert.Matches(@"incoming: mirror :80: 0 requests, \d+ connections?\n", exited.Stderr);
        Assert.DoesNotContain("error:", exited.Stderr, StringComparison.Ordinal);
    }
}
