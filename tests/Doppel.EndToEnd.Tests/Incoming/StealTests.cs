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

    /// <summary>
    /// A client that speaks h2c (curl with prior knowledge) to a port stolen with a filter, while
    /// the program speaks HTTP/1.x only: the session replays the request over HTTP/1.1 and the
    /// client gets the program's answer over HTTP/2, the first time and after.
    /// </summary>
    [Theory]
    [InlineData("python")] // python3 -m http.server: HTTP/1.0
    [InlineData("busybox")] // busybox httpd
    [InlineData("node")] // node's http module
    public async Task AnH2cClientReachesAnHttp11OnlyProgramThroughAFilteredSteal(string server)
    {
        var www = Path.Combine(fixture.WorkDirectory, $"h2c-{server}");
        Directory.CreateDirectory(www);
        File.WriteAllText(Path.Combine(www, "who"), $"local {server}\n");
        string command = server switch
        {
            "python" => $"exec {ClusterFixture.Python} -m http.server 80 --directory {www}",
            "busybox" => $"exec busybox httpd -f -p 80 -h {www}",
            _ => $"exec /usr/bin/node -e \"require('http').createServer((q, s) => s.end('local node\\n')).listen(80)\"",
        };
        var config = fixture.WriteFile($"h2c-{server}.json", """
            {"feature": {"network": {"incoming": {"mode": "steal", "http_filter": {"header_filter": "^X-Dev-User: alice$"}}}}}
            """);
        await using var doppel = fixture.Start(["-v", "-f", config, "-t", $"pid/{fixture.Backend.Pid}", "--", "sh", "-c", command]);
        string[] h2c = ["--http2-prior-knowledge", "-w", "|%{http_version}\n"];
        string[] alice = [.. h2c, "-H", "X-Dev-User: alice"];
        var url = $"http://{fixture.Backend.IP}/who";

        // The subscription follows the listen asynchronously: until it is in place the pod's app
        // (HTTP/1.1 only, with no agent in between yet) fails curl's h2c (no HTTP/2 answer: "|0").
        var limit = Stopwatch.StartNew();
        string first;
        do
        {
            first = await CurlAsync([.. alice, url]);
            Assert.True(limit.Elapsed < TimeSpan.FromSeconds(30), $"the program never got the request; last answer: {first}\n{doppel.SoFar}");
        }
        while (!first.Contains("|2\n", StringComparison.Ordinal));

        var again = await CurlAsync([.. alice, url]);
        var others = await CurlAsync([.. h2c, url]);

        Assert.True($"local {server}\n|2\n" == first, $"first: {first}\n{doppel.SoFar}");
        Assert.Equal($"local {server}\n|2\n", again);
        Assert.Equal($"{ClusterFixture.BackendBody}|2\n", others);
        Assert.DoesNotContain("error:", doppel.SoFar.Stderr, StringComparison.Ordinal);
    }

    /// <summary>
    /// The other way round: an HTTP/1.1 client (curl) to a port stolen with a filter, while the
    /// program speaks only h2c (node's http2 server, as a gRPC server does): the session replays
    /// the request over HTTP/2 and the client gets the program's answer over HTTP/1.1. A WebSocket
    /// upgrade, which HTTP/2 cannot carry, gets a 502 whose body says so in one sentence, and the
    /// user one warning line however many such requests come.
    /// </summary>
    [Fact]
    public async Task AnHttp11ClientReachesAnH2cOnlyProgramThroughAFilteredSteal()
    {
        const string command = "exec /usr/bin/node -e \"require('http2').createServer((q, s) => s.end('local h2c ' + q.httpVersion + ' ' + q.url + '\\\\n')).listen(80)\"";
        var config = fixture.WriteFile("http11-to-h2c.json", """
            {"feature": {"network": {"incoming": {"mode": "steal", "http_filter": {"header_filter": "^X-Dev-User: alice$"}}}}}
            """);
        await using var doppel = fixture.Start(["-f", config, "-t", $"pid/{fixture.Backend.Pid}", "--", "sh", "-c", command]);
        string[] alice = ["--http1.1", "-H", "X-Dev-User: alice", "-w", "|%{http_version} %{http_code}\n"];
        string[] upgrade = [.. alice, "-H", "Connection: Upgrade", "-H", "Upgrade: websocket"];
        var url = $"http://{fixture.Backend.IP}/who";

        // The subscription follows the listen asynchronously: until it is in place the pod's app answers.
        var limit = Stopwatch.StartNew();
        string first;
        do
        {
            first = await CurlAsync([.. alice, url]);
            Assert.True(limit.Elapsed < TimeSpan.FromSeconds(30), $"the program never got the request; last answer: {first}\n{doppel.SoFar}");
        }
        while (first.StartsWith(ClusterFixture.BackendBody, StringComparison.Ordinal));

        var again = await CurlAsync([.. alice, url]);
        var upgrades = new[] { await CurlAsync([.. upgrade, url]), await CurlAsync([.. upgrade, url]) };
        var others = await CurlAsync(["--http1.1", "-w", "|%{http_version} %{http_code}\n", url]);

        Assert.True("local h2c 2.0 /who\n|1.1 200\n" == first, $"first: {first}\n{doppel.SoFar}");
        Assert.Equal("local h2c 2.0 /who\n|1.1 200\n", again);
        Assert.All(upgrades, answer => Assert.True(System.Text.RegularExpressions.Regex.IsMatch(answer, @"^doppel: the session could not deliver the request: the local app at \S+ speaks only HTTP/2 \(h2c\) and the request could not be converted: HTTP/2 cannot carry an HTTP/1.1 upgrade \(Upgrade: websocket\)\n\|1.1 502\n$"), answer));
        Assert.Equal($"{ClusterFixture.BackendBody}|1.1 200\n", others);
        var stderr = doppel.SoFar.Stderr;
        Assert.Single(stderr.Split('\n'), line => line.Contains("speaks only HTTP/2 over cleartext (h2c); stolen HTTP/1.1 requests are converted", StringComparison.Ordinal));
    }

    private async Task<string> CurlAsync(IReadOnlyList<string> arguments)
    {
        var result = await fixture.Other.ExecInNetworkAsync(["curl", "-sS", "-m", "10", .. arguments], CancellationToken.None);
        return result.StandardOutput + result.StandardError;
    }
}
