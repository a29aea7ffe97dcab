using System.Diagnostics;
using Doppel.EndToEnd.Tests.Support;
using Doppel.Testing;

namespace Doppel.EndToEnd.Tests.Incoming;

/// <summary>
/// The life of a steal around the app's listener and the target's connections (issue 10 items 1,
/// 2 and 6): a closed listener gives the port back to the pod and a new one takes it again; the app
/// sees the original client as its peer; connections established before the steal are flushed.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class LifecycleTests(ClusterFixture fixture)
{
    private const string DeveloperBody = "the developer's app\n";

    // Listens on 80, answers one connection with "the developer's app <n>", closes the listener and
    // says "closed"; a line on stdin opens the next listener (n = 1, 2).
    private const string ListenCloseListenServer = """
        import socket, sys
        for n in (1, 2):
            listener = socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("", 80))
            listener.listen()
            print("listening", flush=True)
            connection, _ = listener.accept()
            connection.recv(65536)
            body = f"the developer's app {n}\n".encode()
            connection.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            connection.close()
            listener.close()
            print("closed", flush=True)
            if n == 1:
                sys.stdin.readline()
        """;

    // Answers one connection on 80 and prints what getpeername and accept said about its client.
    private const string PeerServer = """
        import socket
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("", 80))
        listener.listen()
        print("listening", flush=True)
        connection, accepted = listener.accept()
        connection.recv(65536)
        body = b"the developer's app\n"
        connection.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        print("peer", connection.getpeername()[0], flush=True)
        print("accept", accepted[0], flush=True)
        connection.close()
        """;

    // An HTTP/1.1 keep-alive server on 80 answering every request with the developer's body.
    private const string KeepAliveServer = """
        import http.server
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def do_GET(self):
                body = b"the developer's app\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args):
                pass
        server = http.server.ThreadingHTTPServer(("", 80), Handler)
        print("listening", flush=True)
        server.serve_forever()
        """;

    // In the other pod: one keep-alive connection to the backend; a request, then (once the file
    // GO exists) a second one on the same connection, reconnecting once if the connection was ended.
    private const string KeepAliveClient = """
        import http.client, os, sys, time
        host, ready, go = sys.argv[1], sys.argv[2], sys.argv[3]
        connection = http.client.HTTPConnection(host, 80, timeout=10)
        def get():
            connection.request("GET", "/")
            return connection.getresponse().read().decode()
        print("first:", get(), end="", flush=True)
        open(ready, "w").close()
        deadline = time.monotonic() + 120
        while not os.path.exists(go) and time.monotonic() < deadline:
            time.sleep(0.1)
        try:
            answer = get()
            reconnected = False
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = http.client.HTTPConnection(host, 80, timeout=10)
            answer = get()
            reconnected = True
        print("second:", answer, end="", flush=True)
        print("reconnected:", reconnected, flush=True)
        """;

    [Fact]
    public async Task AClosedListenerGivesThePortBackToThePodAndANewListenerStealsItAgain()
    {
        await using var doppel = DoppelExecProcess.Start(
            RepoPaths.Doppel,
            fixture.Cluster.Developer.Name,
            ["-t", $"pid/{fixture.Backend.Pid}", "--steal", "--", ClusterFixture.Python, "-u", "-c", ListenCloseListenServer],
            fixture.WorkDirectory,
            keepStdinOpen: true);

        Assert.Equal("listening", await doppel.ReadLineAsync(TimeSpan.FromSeconds(60)));
        await CurlUntilAsync("the developer's app 1\n");
        Assert.Equal("closed", await doppel.ReadLineAsync(TimeSpan.FromSeconds(30)));

        // The session notices the closed listener and unsubscribes: the pod's app answers again.
        await CurlUntilAsync(ClusterFixture.BackendBody);

        await doppel.WriteLineAsync("again");
        Assert.Equal("listening", await doppel.ReadLineAsync(TimeSpan.FromSeconds(30)));
        await CurlUntilAsync("the developer's app 2\n");
        Assert.Equal("closed", await doppel.ReadLineAsync(TimeSpan.FromSeconds(30)));

        var exited = await doppel.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, exited.ExitCode);
        Assert.Contains("steal :80 ended: the app closed its listener on 127.0.0.1:80.\n", exited.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, exited.Stderr.Split("steal :80 → localhost:80\n").Length - 1);
    }

    [Fact]
    public async Task TheAppSeesTheOriginalClientAsThePeerOfAStolenConnection()
    {
        await using var doppel = fixture.Start(["-t", $"pid/{fixture.Backend.Pid}", "--steal", "--", ClusterFixture.Python, "-u", "-c", PeerServer]);
        Assert.Equal("listening", await doppel.ReadLineAsync(TimeSpan.FromSeconds(60)));

        await CurlUntilAsync(DeveloperBody);

        Assert.Equal($"peer {fixture.Other.IP}", await doppel.ReadLineAsync(TimeSpan.FromSeconds(30)));

        // accept()'s own address names the original client too (doppel accepts on a delivered listener).
        Assert.Equal($"accept {fixture.Other.IP}", await doppel.ReadLineAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, (await doppel.WaitAsync(TimeSpan.FromSeconds(30))).ExitCode);
    }

    [Fact]
    public async Task AKeepAliveConnectionMadeBeforeTheStealIsFlushedAndItsNextRequestIsStolen()
    {
        var ready = Path.Combine(fixture.WorkDirectory, "keep-alive-ready");
        var go = Path.Combine(fixture.WorkDirectory, "keep-alive-go");
        File.Delete(ready);
        File.Delete(go);
        var client = fixture.Other.ExecInNetworkAsync([ClusterFixture.Python, "-c", KeepAliveClient, fixture.Backend.IP.ToString(), ready, go], CancellationToken.None);
        try
        {
            var limit = Stopwatch.StartNew();
            while (!File.Exists(ready))
            {
                Assert.False(client.IsCompleted, $"the keep-alive client ended early: {(client.IsCompleted ? (await client).StandardError : "")}");
                Assert.True(limit.Elapsed < TimeSpan.FromSeconds(30), "the keep-alive client never got its first answer");
                await Task.Delay(100);
            }

            await using var doppel = fixture.Start(["-t", $"pid/{fixture.Backend.Pid}", "--steal", "--", ClusterFixture.Python, "-u", "-c", KeepAliveServer]);
            Assert.Equal("listening", await doppel.ReadLineAsync(TimeSpan.FromSeconds(60)));

            // A new connection reaching the developer's app means the port is stolen (and flushed before).
            await CurlUntilAsync(DeveloperBody);

            // The second request while the steal lasts (disposing doppel ends it).
            await File.WriteAllTextAsync(go, "");
            var result = await client;
            Assert.Equal($"first: {ClusterFixture.BackendBody}second: {DeveloperBody}reconnected: True\n", result.StandardOutput);
        }
        finally
        {
            await File.WriteAllTextAsync(go, "");
        }
    }

    /// <summary>curl from the other pod to the backend's port 80, each on a new connection, until the answer is <paramref name="expected"/>.</summary>
    private async Task CurlUntilAsync(string expected)
    {
        var limit = Stopwatch.StartNew();
        string answer;
        do
        {
            var result = await fixture.Other.ExecInNetworkAsync(["curl", "-sS", "-m", "5", $"http://{fixture.Backend.IP}/"], CancellationToken.None);
            answer = result.StandardOutput;
            Assert.True(limit.Elapsed < TimeSpan.FromSeconds(30), $"never answered {expected.TrimEnd()}; last answer: {answer}{result.StandardError}");
        }
        while (answer != expected);
    }
}
