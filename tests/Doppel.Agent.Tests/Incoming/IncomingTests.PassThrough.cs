using System.Net;
using Doppel.Protocol.V1;
using Doppel.Testing;

namespace Doppel.Agent.Tests.Incoming;

/// <summary>
/// The pass-through of h2c requests no filter took, when the pod's app does not take h2c the
/// way the client spoke it: an HTTP/1.1-only app gets them over HTTP/1.1, bodies included; an
/// app that is not up yet (refused connections) is not judged for it, so once it is up and
/// speaks h2c, it gets h2c.
/// </summary>
public sealed partial class IncomingTests
{
    // A port of the backend pod on which nothing listens until RefusedConnectionsDoNotMakeTheAgentGiveUpH2cForTheApp starts node's h2c server there.
    private const int LateH2cPort = 8091;

    // node's http2 server (h2c only: an HTTP/1.1 request gets HTTP/2 frames back) on LateH2cPort.
    private const string NodeH2cApp = """
        const http2 = require('http2');
        http2.createServer((req, res) => res.end(`node h2c ${req.httpVersion} ${req.method} ${req.url}\n`)).listen(8091, '0.0.0.0');
        """;

    private static HttpRequestMessage H2c(HttpMethod method, string url, string? body = null) => new(method, url)
    {
        Version = HttpVersion.Version20,
        VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Content = body is null ? null : new StringContent(body),
    };

    [Fact]
    public async Task AnH2cPostThatNoFilterTookReachesAnHttp11OnlyAppWithItsBody()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        await using var session = await TestSession.StartAsync(channel, Timeout);
        Assert.Null((await session.SubscribeAsync(ClusterFixture.HttpPort, DevUserIsTest, Timeout)).Error);
        using var client = WebPodHttpClient(out _);

        // The first request the agent passes to the app: its h2c is refused, then it goes over HTTP/1.1.
        using var first = await client.SendAsync(H2c(HttpMethod.Post, Url("/orders"), "two apples"), Timeout);
        var firstBody = await first.Content.ReadAsStringAsync(Timeout);
        using var second = await client.SendAsync(H2c(HttpMethod.Post, Url("/orders"), "three pears"), Timeout);
        var secondBody = await second.Content.ReadAsStringAsync(Timeout);

        Assert.True(first.StatusCode == HttpStatusCode.OK, $"{(int)first.StatusCode} {firstBody}\nagent: {agent.ErrorOutput}");
        Assert.Equal("two apples", firstBody);
        Assert.Equal(HttpVersion.Version20, first.Version);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal("three pears", secondBody);
        Assert.Empty(session.Requests);
    }

    [Fact]
    public async Task RefusedConnectionsDoNotMakeTheAgentGiveUpH2cForTheApp()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        await using var session = await TestSession.StartAsync(channel, Timeout);
        Assert.Null((await session.SubscribeAsync(LateH2cPort, DevUserIsTest, Timeout)).Error);
        using var client = WebPodHttpClient(out _);
        var url = $"http://{cluster.Backend.IP}:{LateH2cPort}/hello";

        // Nothing listens yet (an app that is starting or restarting): 502.
        using var refused = await client.SendAsync(H2c(HttpMethod.Get, url), Timeout);
        var refusedBody = await refused.Content.ReadAsStringAsync(Timeout);
        await cluster.Backend.StartAsync(PodServer.Run("late-h2c", ["/usr/bin/node", "-e", NodeH2cApp], LateH2cPort), Timeout);
        using var answered = await client.SendAsync(H2c(HttpMethod.Get, url), Timeout);
        var answeredBody = await answered.Content.ReadAsStringAsync(Timeout);

        Assert.Equal(HttpStatusCode.BadGateway, refused.StatusCode);
        Assert.StartsWith($"doppel: the pod's app at {cluster.Backend.IP}:{LateH2cPort} could not be reached: ", refusedBody, StringComparison.Ordinal);
        Assert.True(answered.StatusCode == HttpStatusCode.OK, $"{(int)answered.StatusCode} {answeredBody}\nagent: {agent.ErrorOutput}");
        Assert.Equal("node h2c 2.0 GET /hello\n", answeredBody);
        Assert.Empty(session.Requests);
    }
}
