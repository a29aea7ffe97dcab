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
    // Serves one HTTP request on port 80 (the backend pod's HTTP port) and exits.
    private const string OneRequestServer = """
        import http.server
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = b"the developer's app\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args):
                pass
        server = http.server.HTTPServer(("", 80), Handler)
        print("listening", flush=True)
        server.handle_request()
        """;

    [Fact]
    public async Task AStolenPortsRequestReachesTheProgramAndItsProgressLineAndCountAreShown()
    {
        await using var doppel = fixture.Start(["-v", "-t", $"pid/{fixture.Backend.Pid}", "--steal", "--", ClusterFixture.Python, "-c", OneRequestServer]);
        Assert.Equal("listening", await doppel.ReadLineAsync(TimeSpan.FromSeconds(60)));

        // The subscription follows the listen asynchronously: until it is in place the pod's app answers.
        var limit = Stopwatch.StartNew();
        string answer;
        do
        {
            var result = await fixture.Other.ExecInNetworkAsync(["curl", "-sS", "-m", "5", $"http://{fixture.Backend.IP}/"], CancellationToken.None);
            answer = result.StandardOutput;
            Assert.True(limit.Elapsed < TimeSpan.FromSeconds(30), $"the program never got the request; last answer: {answer}{result.StandardError}");
        }
        while (answer != "the developer's app\n");

        var exited = await doppel.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, exited.ExitCode);
        Assert.Contains("steal :80 → localhost:80\n", exited.Stderr, StringComparison.Ordinal);
        Assert.Contains("incoming: steal :80: 0 requests, 1 connection\n", exited.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("error:", exited.Stderr, StringComparison.Ordinal);
    }
}
