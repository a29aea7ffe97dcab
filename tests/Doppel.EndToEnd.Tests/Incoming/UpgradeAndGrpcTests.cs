using System.Diagnostics;
using Doppel.EndToEnd.Tests.Support;
using Doppel.Testing;

namespace Doppel.EndToEnd.Tests.Incoming;

/// <summary>
/// HTTP upgrades and gRPC through a filtered steal, end to end with real clients: the backend pod
/// runs the pod's app, doppel runs the same app locally with a header filter
/// (<c>X-Dev-User: alice</c>), and a client in the "other" pod calls the backend's address:
/// <code>
///   other pod ──X-Dev-User: alice──► backend:PORT ──agent──► session ──► local app ("local")
///            ──no header──────────► backend:PORT ──agent──► pod's app ("pod")
/// </code>
/// A WebSocket (node ws) echoes 1 MB; gRPC (Grpc.AspNetCore / Grpc.Net.Client over h2c) makes a
/// unary call, a server-streaming, a client-streaming and a bidirectional (lock-step) call and a
/// refused call, each answer with its trailer.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class UpgradeAndGrpcTests(ClusterFixture fixture)
{
    private const int WebSocketPort = 8700;
    private const int GrpcPort = 8701;
    private const string Node = "/usr/bin/node";

    // node ws echo: greets with "hello from NAME", then sends every message back as it came.
    private const string WebSocketServer = """
        const { WebSocketServer } = require('/usr/share/nodejs/ws');
        const [port, name] = process.argv.slice(2);
        const server = new WebSocketServer({ host: '0.0.0.0', port: Number(port), maxPayload: 16 << 20 });
        server.on('listening', () => console.log('listening'));
        server.on('connection', ws => {
          ws.send('hello from ' + name);
          ws.on('message', (data, binary) => ws.send(data, { binary }));
        });
        """;

    // Sends 1 MiB of random bytes after the greeting, compares the echo, closes; one line per event.
    private const string WebSocketClient = """
        const WebSocket = require('/usr/share/nodejs/ws');
        const crypto = require('crypto');
        const [url, user] = process.argv.slice(2);
        const ws = new WebSocket(url, { headers: user ? { 'X-Dev-User': user } : {}, maxPayload: 16 << 20 });
        const payload = crypto.randomBytes(1 << 20);
        let greeting;
        ws.on('message', (data, binary) => {
          if (!binary) { greeting = data.toString(); ws.send(payload); return; }
          console.log(`${greeting}; echoed ${data.length} bytes, ${data.equals(payload) ? 'identical' : 'different'}`);
          ws.close(1000);
        });
        ws.on('close', code => { console.log('closed ' + code); process.exit(0); });
        ws.on('error', e => { console.log('error: ' + e.message); process.exit(2); });
        """;

    private const string AliceOnly = """
        {"feature": {"network": {"incoming": {"mode": "steal", "http_filter": {"header_filter": "^X-Dev-User: alice$"}}}}}
        """;

    [Fact]
    public async Task AWebSocketEchoOf1MBComesFromTheLocalAppWhenTheFilterMatchesAndFromThePodsAppOtherwise()
    {
        var server = fixture.WriteFile("ws-echo-server.js", WebSocketServer);
        var client = fixture.WriteFile("ws-echo-client.js", WebSocketClient);
        await fixture.Backend.StartAsync(PodServer.Run("ws-echo", [Node, server, $"{WebSocketPort}", "pod"], WebSocketPort), CancellationToken.None);
        await using var doppel = fixture.Start(["-f", fixture.WriteFile("ws-alice.json", AliceOnly), "-t", $"pid/{fixture.Backend.Pid}", "--", Node, server, $"{WebSocketPort}", "local"]);
        Assert.Equal("listening", await doppel.ReadLineAsync(TimeSpan.FromSeconds(60)));
        var url = $"ws://{fixture.Backend.IP}:{WebSocketPort}/echo";

        var stolen = await UntilStolenAsync([Node, client, url, "alice"], "hello from local");
        var passedThrough = await RunAsync([Node, client, url]);

        Assert.Equal("hello from local; echoed 1048576 bytes, identical\nclosed 1000\n", stolen);
        Assert.Equal("hello from pod; echoed 1048576 bytes, identical\nclosed 1000\n", passedThrough);
    }

    [Fact]
    public async Task GrpcUnaryStreamingBothWaysAndRefusedCallsKeepTheirTrailersAndStatusStolenAndPassedThrough()
    {
        await fixture.Backend.StartAsync(PodServer.Run("grpc-echo", ["dotnet", RepoPaths.GrpcEcho, "server", $"{GrpcPort}", "pod"], GrpcPort), CancellationToken.None);
        await using var doppel = fixture.Start(["-f", fixture.WriteFile("grpc-alice.json", AliceOnly), "-t", $"pid/{fixture.Backend.Pid}", "--", "dotnet", RepoPaths.GrpcEcho, "server", $"{GrpcPort}", "local"]);
        Assert.Equal("listening", await doppel.ReadLineAsync(TimeSpan.FromSeconds(60)));
        var url = $"http://{fixture.Backend.IP}:{GrpcPort}";

        var stolen = await UntilStolenAsync(["dotnet", RepoPaths.GrpcEcho, "client", url, "alice"], "say: local");
        var passedThrough = await RunAsync(["dotnet", RepoPaths.GrpcEcho, "client", url]);

        // Whole outputs in the failure message: Assert.Equal cuts long strings, and a failed call's line holds the reason.
        Assert.True(Expected("local") == stolen, $"stolen:\n{stolen}");
        Assert.True(Expected("pod") == passedThrough, $"passed through:\n{passedThrough}");

        static string Expected(string name) =>
            $"say: {name}: hi; trailer: {name}; status: OK\n" +
            $"count: {name} 1, {name} 2, {name} 3; trailer: {name}; status: OK\n" +
            $"join: {name}: a+b+c; trailer: {name}; status: OK\n" +
            $"chat: {name}: one, {name}: two, {name}: three; trailer: {name}; status: OK\n" +
            $"refuse: FailedPrecondition \"{name} refuses\"; trailer: {name}\n";
    }

    /// <summary>The subscription follows the listen asynchronously: until it is in place the pod's app answers.</summary>
    private async Task<string> UntilStolenAsync(IReadOnlyList<string> command, string stolenPrefix)
    {
        var limit = Stopwatch.StartNew();
        while (true)
        {
            var output = await RunAsync(command);
            if (output.StartsWith(stolenPrefix, StringComparison.Ordinal))
            {
                return output;
            }

            Assert.True(limit.Elapsed < TimeSpan.FromSeconds(30), $"the local app never got the call; last output: {output}");
            await Task.Delay(200);
        }
    }

    private async Task<string> RunAsync(IReadOnlyList<string> command)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var result = await fixture.Other.ExecInNetworkAsync(command, timeout.Token);
        return result.StandardOutput + result.StandardError;
    }
}
