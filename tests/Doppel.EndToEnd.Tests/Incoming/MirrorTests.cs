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
    // Serves one HTTP request on port 80 (the backend pod's HTTP port), says which, and exits.
    private const string OneRequestServer = """
        import http.server
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                print("saw GET " + self.path, flush=True)
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
    public async Task AMirroredRequestGetsThePodsAnswerAndAlsoReachesTheProgram()
    {
        await using var doppel = fixture.Start(["-v", "-t", $"pid/{fixture.Backend.Pid}", "--", ClusterFixture.Python, "-c", OneRequestServer]);
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
        Assert.Contains("incoming: mirror :80: 0 requests, 1 connection\n", exited.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("error:", exited.Stderr, StringComparison.Ordinal);
    }
}
