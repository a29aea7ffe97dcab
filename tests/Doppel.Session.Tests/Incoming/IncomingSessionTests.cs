using System.Diagnostics;
using System.Net;
using System.Threading.Channels;
using Doppel.Config;
using Doppel.Session.Sessions;
using SessionOptions = Doppel.Session.Sessions.SessionOptions;
using Doppel.Session.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Doppel.Session.Tests.Incoming;

/// <summary>
/// Steal end to end through the session: the real agent on the backend pod, a real local app
/// (Kestrel on 127.0.0.1), curl in another pod as the client. The app's listen is reported to the
/// session's policy as the interception layer reports it (<c>OnListening(local, requestedPort)</c>).
/// </summary>
public sealed class IncomingSessionTests(IncomingClusterFixture cluster) : IClassFixture<IncomingClusterFixture>
{
    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    private string Url(string path) => $"http://{cluster.Backend.IP}:{IncomingClusterFixture.HttpPort}{path}";

    [Theory]
    [InlineData("--http1.1", HttpProtocols.Http1, "HTTP/1.1")]
    [InlineData("--http2-prior-knowledge", HttpProtocols.Http2, "HTTP/2")]
    [InlineData("--http2-prior-knowledge", HttpProtocols.Http1, "HTTP/1.1")] // an HTTP/1.1-only app: the replay falls back
    public async Task AFilteredStealBringsAlicesRequestsToHerAppAndLeavesTheRestWithThePod(string curlVersion, HttpProtocols protocols, string protocol)
    {
        await using var agent = await AgentUnderTest.StartAsync($"pid/{cluster.Backend.Pid}");
        await using var app = await LocalApp.StartAsync(protocols);
        var lines = new Lines();
        await using var session = await StartAsync(agent, """{"mode": "steal", "http_filter": {"header_filter": "^X-Dev-User: alice$"}}""", "alice", lines);

        session.Policy.OnListening(app.EndPoint, IncomingClusterFixture.HttpPort);
        var subscribed = await lines.Info.Reader.ReadAsync(Timeout);
        var alices = await CurlAsync([curlVersion, "-H", "X-Dev-User: alice", Url("/mine?x=1")]);
        var others = await CurlAsync([curlVersion, "-H", "X-Dev-User: bob", Url("/theirs")]);

        Assert.Equal($"steal :{IncomingClusterFixture.HttpPort} → localhost:{app.EndPoint.Port} (filter ^X-Dev-User: alice$)", subscribed);
        Assert.Equal($"local app: GET /mine?x=1 {protocol} host={cluster.Backend.IP}:{IncomingClusterFixture.HttpPort} xff={cluster.Client.IP}\n", alices);
        Assert.Equal(IncomingClusterFixture.PodAnswer, others.TrimEnd('\n'));
        Assert.Equal([$"steal :{IncomingClusterFixture.HttpPort}: 1 request, 0 connections"], session.IncomingSummary);
        Assert.False(lines.Errors.Reader.TryRead(out var error), error);
    }

    [Fact]
    public async Task AWholePortStealRelaysConnectionsToTheLocalAppUntilTheSessionEnds()
    {
        await using var agent = await AgentUnderTest.StartAsync($"pid/{cluster.Backend.Pid}");
        await using var app = await LocalApp.StartAsync(HttpProtocols.Http1);
        var lines = new Lines();
        var session = await StartAsync(agent, "\"steal\"", "alice", lines);
        try
        {
            session.Policy.OnListening(app.EndPoint, IncomingClusterFixture.HttpPort);
            var subscribed = await lines.Info.Reader.ReadAsync(Timeout);
            var answer = await CurlAsync(["-d", "posted", Url("/whole")]);

            Assert.Equal($"steal :{IncomingClusterFixture.HttpPort} → localhost:{app.EndPoint.Port}", subscribed);
            Assert.Equal($"local app: POST /whole HTTP/1.1 host={cluster.Backend.IP}:{IncomingClusterFixture.HttpPort} xff=\n", answer);
            Assert.Equal([$"steal :{IncomingClusterFixture.HttpPort}: 0 requests, 1 connection"], session.IncomingSummary);
        }
        finally
        {
            await session.DisposeAsync();
        }

        await WaitForThePodAsync();
    }

    [Fact]
    public async Task AfterTheAgentRestartsTheSessionSubscribesItsPortsAgain()
    {
        await using var agent = await AgentUnderTest.StartAsync($"pid/{cluster.Backend.Pid}");
        await using var app = await LocalApp.StartAsync(HttpProtocols.Http1);
        var lines = new Lines();
        await using var session = await StartAsync(agent, """{"mode": "steal", "http_filter": {"header_filter": "^X-Dev-User: alice$"}}""", "alice", lines);
        session.Policy.OnListening(app.EndPoint, IncomingClusterFixture.HttpPort);
        var subscribed = await lines.Info.Reader.ReadAsync(Timeout);

        await agent.KillAsync();
        var lost = await lines.Warnings.Reader.ReadAsync(Timeout);
        await WaitForThePodAsync(); // the owner table went with the agent
        await agent.RestartAsync();
        var again = await lines.Info.Reader.ReadAsync(Timeout);
        var alices = await CurlAsync(["-H", "X-Dev-User: alice", Url("/after")]);
        var others = await CurlAsync(["-H", "X-Dev-User: bob", Url("/theirs")]);

        // One warning for the loss, one line for the return (issue 12 item 5), nothing more.
        Assert.StartsWith("incoming: the connection to the agent broke or the agent ended (", lost, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", lost, StringComparison.Ordinal);
        Assert.EndsWith($"requests to :{IncomingClusterFixture.HttpPort} go to the target's app until doppel has subscribed them again, once the agent is back.", lost, StringComparison.Ordinal);
        Assert.Equal("incoming: subscribed again: " + subscribed, again);
        Assert.Equal($"local app: GET /after HTTP/1.1 host={cluster.Backend.IP}:{IncomingClusterFixture.HttpPort} xff={cluster.Client.IP}\n", alices);
        Assert.Equal(IncomingClusterFixture.PodAnswer, others.TrimEnd('\n'));
        Assert.False(lines.Warnings.Reader.TryRead(out var warning), warning);
        Assert.False(lines.Info.Reader.TryRead(out var info), info);
        Assert.False(lines.Errors.Reader.TryRead(out var error), error);
    }

    [Fact]
    public async Task ASecondWholeStealOfThePortIsOneErrorLineNamingTheFirstSession()
    {
        await using var agent = await AgentUnderTest.StartAsync($"pid/{cluster.Backend.Pid}");
        await using var app = await LocalApp.StartAsync(HttpProtocols.Http1);
        var alice = new Lines();
        var bob = new Lines();
        await using var first = await StartAsync(agent, "\"steal\"", "alice", alice);
        await using var second = await StartAsync(agent, "\"steal\"", "bob", bob);

        first.Policy.OnListening(app.EndPoint, IncomingClusterFixture.HttpPort);
        await alice.Info.Reader.ReadAsync(Timeout);
        second.Policy.OnListening(app.EndPoint, IncomingClusterFixture.HttpPort);
        var refused = await bob.Errors.Reader.ReadAsync(Timeout);

        Assert.StartsWith($"port {IncomingClusterFixture.HttpPort} is not stolen: ", refused, StringComparison.Ordinal);
        Assert.Contains($"alice@{Environment.MachineName} (pid {Environment.ProcessId})", refused, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFilteredMirrorGivesTheClientThePodsAnswerAndAlicesAppACopyOfHerRequest()
    {
        await using var agent = await AgentUnderTest.StartAsync($"pid/{cluster.Backend.Pid}");
        await using var app = await LocalApp.StartAsync(HttpProtocols.Http1);
        var lines = new Lines();
        await using var session = await StartAsync(agent, """{"mode": "mirror", "http_filter": {"header_filter": "^X-Dev-User: alice$"}}""", "alice", lines);

        session.Policy.OnListening(app.EndPoint, IncomingClusterFixture.HttpPort);
        var subscribed = await lines.Info.Reader.ReadAsync(Timeout);
        var alices = await CurlAsync(["-H", "X-Dev-User: alice", "-d", "alice's body", Url("/mine")]);
        var others = await CurlAsync(["-H", "X-Dev-User: bob", Url("/theirs")]);
        var copy = await app.Seen.Reader.ReadAsync(Timeout);

        Assert.Equal($"mirror :{IncomingClusterFixture.HttpPort} → localhost:{app.EndPoint.Port} (filter ^X-Dev-User: alice$)", subscribed);
        Assert.Equal("alice's body", alices); // the pod's app echoes a POST's body
        Assert.Equal(IncomingClusterFixture.PodAnswer, others.TrimEnd('\n'));
        Assert.Equal($"local app: POST /mine HTTP/1.1 host={cluster.Backend.IP}:{IncomingClusterFixture.HttpPort} xff={cluster.Client.IP} body=alice's body\n", copy);
        Assert.False(app.Seen.Reader.TryRead(out var more), more);
        Assert.Equal([$"mirror :{IncomingClusterFixture.HttpPort}: 1 request, 0 connections"], session.IncomingSummary);
        Assert.False(lines.Errors.Reader.TryRead(out var error), error);
    }

    [Fact]
    public async Task AWholePortMirrorGivesTheClientThePodsAnswerAndTheLocalAppACopyOfTheConnection()
    {
        await using var agent = await AgentUnderTest.StartAsync($"pid/{cluster.Backend.Pid}");
        await using var app = await LocalApp.StartAsync(HttpProtocols.Http1);
        var lines = new Lines();
        await using var session = await StartAsync(agent, "\"mirror\"", "alice", lines);

        session.Policy.OnListening(app.EndPoint, IncomingClusterFixture.HttpPort);
        var subscribed = await lines.Info.Reader.ReadAsync(Timeout);
        var answer = await CurlAsync(["-d", "posted", Url("/whole")]);
        var copy = await app.Seen.Reader.ReadAsync(Timeout);

        Assert.Equal($"mirror :{IncomingClusterFixture.HttpPort} → localhost:{app.EndPoint.Port}", subscribed);
        Assert.Equal("posted", answer); // the pod's app echoes a POST's body
        Assert.Equal($"local app: POST /whole HTTP/1.1 host={cluster.Backend.IP}:{IncomingClusterFixture.HttpPort} xff= body=posted\n", copy);
        Assert.Equal([$"mirror :{IncomingClusterFixture.HttpPort}: 0 requests, 1 connection"], session.IncomingSummary);
        Assert.False(lines.Errors.Reader.TryRead(out var error), error);
    }

    [Fact]
    public async Task AMirrorWhoseLocalAppDoesNotKeepUpDropsCopiesWithOneWarningAndCountsThemWithoutSlowingTheClient()
    {
        // The smallest queue the agent takes (64 KiB) and an app that accepts but never reads: each
        // 32 MiB upload's copy outgrows the socket buffers, the Serve call's window and the queue.
        await using var agent = await AgentUnderTest.StartAsync($"pid/{cluster.Backend.Pid}", new Dictionary<string, string> { ["DOPPEL_AGENT_MIRROR_QUEUE_BYTES"] = "65536" });
        using var app = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        app.Start();
        var held = new List<System.Net.Sockets.Socket>();
        var accepting = Task.Run(async () =>
        {
            while (true)
            {
                held.Add(await app.AcceptSocketAsync());
            }
        });
        var upload = Path.Combine(Path.GetTempPath(), $"doppel-mirror-drop-{Environment.ProcessId}");
        await File.WriteAllBytesAsync(upload, new byte[32 << 20]);
        try
        {
            var lines = new Lines();
            await using var session = await StartAsync(agent, "\"mirror\"", "alice", lines);
            var appEndPoint = (IPEndPoint)app.LocalEndpoint;
            session.Policy.OnListening(appEndPoint, IncomingClusterFixture.HttpPort);
            Assert.Equal($"mirror :{IncomingClusterFixture.HttpPort} → localhost:{appEndPoint.Port}", await lines.Info.Reader.ReadAsync(Timeout));

            foreach (var _ in new[] { 1, 2 })
            {
                // The pod's app echoes the body: the client gets all of it back however the copy fares.
                var echoed = await CurlAsync(["-o", "/dev/null", "-w", "%{size_download}", "--data-binary", "@" + upload, Url("/big")]);
                Assert.Equal($"{32 << 20}", echoed);
            }

            var summary = await DroppedSummaryAsync(session, copies: 2);
            Assert.Matches(@$"^mirror :{IncomingClusterFixture.HttpPort}: 2 copies dropped \(\d+ bytes\)$", summary);
            Assert.Equal(
                $"mirror copies of port {IncomingClusterFixture.HttpPort} are being dropped: this session or its local app does not keep up with the pod's traffic (the pod's clients are not slowed); -v shows the count at exit.",
                await lines.Warnings.Reader.ReadAsync(Timeout));
            Assert.False(lines.Warnings.Reader.TryRead(out var second), second);
            Assert.False(lines.Errors.Reader.TryRead(out var error), error);
        }
        finally
        {
            File.Delete(upload);
            app.Stop();
            await Assert.ThrowsAnyAsync<Exception>(() => accepting);
            held.ForEach(socket => socket.Dispose());
        }
    }

    /// <summary>Waits for the session's <c>-v</c> line of dropped copies to count <paramref name="copies"/> (the agent reports drops a moment after them).</summary>
    private static async Task<string> DroppedSummaryAsync(DoppelSession session, int copies)
    {
        var limit = Stopwatch.StartNew();
        while (true)
        {
            var line = session.IncomingSummary.FirstOrDefault(l => l.Contains("dropped", StringComparison.Ordinal));
            if (line is not null && line.Contains($": {copies} cop", StringComparison.Ordinal))
            {
                return line;
            }

            Assert.True(limit.Elapsed < TimeSpan.FromSeconds(30), $"the session never counted {copies} dropped copies; summary: {string.Join(" | ", session.IncomingSummary)}");
            await Task.Delay(100, Timeout);
        }
    }

    private static async Task<DoppelSession> StartAsync(AgentUnderTest agent, string incoming, string user, Lines lines)
    {
        var options = new SessionOptions
        {
            Config = Load(agent, incoming),
            Program = "/bin/true",
            WorkingDirectory = "/",
            LocalEnvironment = new Dictionary<string, string> { ["USER"] = user },
            ClientVersion = "0.1.0",
            Info = line => lines.Info.Writer.TryWrite(line),
            Warn = line => lines.Warnings.Writer.TryWrite(line),
            ReportError = line => lines.Errors.Writer.TryWrite(line),
        };
        return await DoppelSession.StartAsync(options, agent.Endpoint, NullLoggerFactory.Instance, Timeout);
    }

    private static DoppelConfig Load(AgentUnderTest agent, string incoming)
    {
        var dir = Directory.CreateTempSubdirectory("doppel-incoming-session-");
        try
        {
            var file = Path.Combine(dir.FullName, "mirrord.json");
            File.WriteAllText(file, "{\"target\": \"" + agent.Target + "\", \"feature\": {\"fs\": \"local\", \"network\": {\"incoming\": " + incoming + "}}}");
            return ConfigLoader.Load(new ConfigLoadOptions { ConfigFile = file, Environment = _ => null, WorkingDirectory = dir.FullName }).Config;
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private async Task<string> CurlAsync(IReadOnlyList<string> arguments)
    {
        var result = await cluster.Client.ExecInNetworkAsync(["curl", "-sS", "-m", "10", .. arguments], Timeout);
        return result.EnsureSuccess($"curl {string.Join(' ', arguments)}").StandardOutput;
    }

    /// <summary>Polls until the pod's app answers again (the agent removes the redirect after the session's call ended).</summary>
    private async Task WaitForThePodAsync()
    {
        var limit = Stopwatch.StartNew();
        while (true)
        {
            var result = await cluster.Client.ExecInNetworkAsync(["curl", "-sS", "-m", "5", Url("/")], Timeout);
            if (result.StandardOutput.TrimEnd('\n') == IncomingClusterFixture.PodAnswer)
            {
                return;
            }

            Assert.True(limit.Elapsed < TimeSpan.FromSeconds(30), $"the pod's app never answered again; last answer: {result.StandardOutput}{result.StandardError}");
            await Task.Delay(100, Timeout);
        }
    }

    /// <summary>The session's lines for the person, as the CLI would print them.</summary>
    private sealed class Lines
    {
        public Channel<string> Info { get; } = Channel.CreateUnbounded<string>();

        public Channel<string> Warnings { get; } = Channel.CreateUnbounded<string>();

        public Channel<string> Errors { get; } = Channel.CreateUnbounded<string>();
    }

    /// <summary>The developer's app: Kestrel on 127.0.0.1, answering what it was asked and who forwarded it.</summary>
    private sealed class LocalApp : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private LocalApp(WebApplication app, IPEndPoint endPoint, Channel<string> seen)
        {
            _app = app;
            EndPoint = endPoint;
            Seen = seen;
        }

        public IPEndPoint EndPoint { get; }

        /// <summary>Each request the app served, as the line it answered plus <c>body=…</c>.</summary>
        public Channel<string> Seen { get; }

        public static async Task<LocalApp> StartAsync(HttpProtocols protocols)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(options => options.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = protocols));
            var app = builder.Build();
            var seen = Channel.CreateUnbounded<string>();
            app.Run(async context =>
            {
                using var body = new StreamReader(context.Request.Body);
                var text = await body.ReadToEndAsync();
                var line = $"local app: {context.Request.Method} {context.Request.Path}{context.Request.QueryString} {context.Request.Protocol} host={context.Request.Host} xff={context.Request.Headers["X-Forwarded-For"]}";
                seen.Writer.TryWrite($"{line} body={text}\n");
                await context.Response.WriteAsync(line + "\n");
            });
            await app.StartAsync(Timeout);
            return new LocalApp(app, new IPEndPoint(IPAddress.Loopback, new Uri(app.Urls.First()).Port), seen);
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
