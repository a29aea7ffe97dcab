using System.Net.Sockets;
using System.Text;
using Doppel.Linux.Namespaces;
using Doppel.Protocol.V1;
using Doppel.Testing;

namespace Doppel.Agent.Tests.Incoming;

/// <summary>
/// HTTP/1.1 upgrades on a filtered port through the real agent, with a raw client socket in the
/// web pod: a matching upgrade request goes to the session (the test session answers 101 and
/// echoes), any other to the backend pod's upgrade echo (node); the upgraded connection follows,
/// and the client's half-close ends it.
/// </summary>
public sealed class UpgradeTests(ClusterFixture cluster) : IClassFixture<ClusterFixture>
{
    private const int UpgradePort = 8090;

    // An HTTP server whose upgrade (any protocol) echoes every chunk as "app: CHUNK" and ends after the client's end.
    private const string AppUpgradeEcho = """
        const http = require('http');
        const server = http.createServer((req, res) => res.end('not upgraded\n'));
        server.on('upgrade', (req, socket, head) => {
          socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: ' + req.headers.upgrade + '\r\nConnection: Upgrade\r\nX-Answered-By: app\r\n\r\n');
          if (head.length) socket.write('app: ' + head);
          socket.on('data', d => socket.write('app: ' + d));
          socket.on('end', () => socket.end());
        });
        server.listen(Number(process.argv[2]), '0.0.0.0');
        """;

    // An h2c client that opens a WebSocket with an extended CONNECT once the server allows it; prints the status and body.
    private const string ExtendedConnectClient = """
        const http2 = require('http2');
        const client = http2.connect(process.argv[1]);
        client.on('remoteSettings', settings => {
          if (!settings.enableConnectProtocol) { console.log('extended CONNECT not offered'); process.exit(0); }
          const request = client.request({ ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'http', ':path': '/chat' });
          let answer = '';
          request.on('response', headers => answer += headers[':status'] + ' ');
          request.on('data', data => answer += data);
          request.on('end', () => { process.stdout.write(answer); client.close(); });
        });
        """;

    private static readonly SemaphoreSlim s_appStarted = new(1, 1);
    private static bool s_appRunning;

    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    [Fact]
    public async Task AMatchingUpgradeGoesToTheSessionAndAnotherToTheAppAndEachConnectionFollowsItsUpgrade()
    {
        await StartAppAsync();
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        await using var session = await TestSession.StartAsync(channel, Timeout);
        Assert.Null((await session.SubscribeAsync(UpgradePort, new HttpFilter { Header = "^X-Dev-User: test$" }, Timeout)).Error);

        var stolen = await UpgradeAsync("X-Dev-User: test\r\n");
        var passedThrough = await UpgradeAsync("");

        Assert.StartsWith("HTTP/1.1 101 Switching Protocols\r\n", stolen, StringComparison.Ordinal);
        Assert.Contains("\r\nUpgrade: echo\r\n", stolen, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("\r\nX-Answered-By: test-session\r\n", stolen, StringComparison.OrdinalIgnoreCase);
        Assert.EndsWith("\r\n\r\nsession: ping\n", stolen, StringComparison.Ordinal);
        var head = Assert.Single(session.Requests);
        Assert.Contains(head.Headers, h => h.Name == "Upgrade" && h.Value == "echo");
        Assert.StartsWith("HTTP/1.1 101 Switching Protocols\r\n", passedThrough, StringComparison.Ordinal);
        Assert.Contains("\r\nUpgrade: echo\r\n", passedThrough, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("\r\nX-Answered-By: app\r\n", passedThrough, StringComparison.OrdinalIgnoreCase);
        Assert.EndsWith("\r\n\r\napp: ping\n", passedThrough, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnHttp2ExtendedConnectIsAnswered501WithAReason()
    {
        await StartAppAsync();
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.Backend.Pid}", 60, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        await using var session = await TestSession.StartAsync(channel, Timeout);
        Assert.Null((await session.SubscribeAsync(UpgradePort, new HttpFilter { Header = "^X-Dev-User: test$" }, Timeout)).Error);

        var result = await cluster.ProcessPod.ExecInNetworkAsync(["/usr/bin/node", "-e", ExtendedConnectClient, $"http://{cluster.Backend.IP}:{UpgradePort}"], Timeout);

        Assert.Equal("501 doppel: websocket over HTTP/2 (extended CONNECT) is not supported; use an HTTP/1.1 upgrade\n", result.StandardOutput + result.StandardError);
        Assert.Empty(session.Requests);
    }

    /// <summary>The backend pod's upgrade echo, started once for the class (it runs until the cluster stops).</summary>
    private async Task StartAppAsync()
    {
        await s_appStarted.WaitAsync(Timeout);
        try
        {
            if (!s_appRunning)
            {
                var directory = Directory.CreateTempSubdirectory("doppel-upgrade-test-");
                try
                {
                    var path = Path.Combine(directory.FullName, "upgrade-echo.js");
                    await File.WriteAllTextAsync(path, AppUpgradeEcho, Timeout);
                    await cluster.Backend.StartAsync(PodServer.Run("upgrade-echo", ["/usr/bin/node", path, $"{UpgradePort}"], UpgradePort), Timeout);
                    s_appRunning = true;
                }
                finally
                {
                    directory.Delete(recursive: true); // node has read it
                }
            }
        }
        finally
        {
            s_appStarted.Release();
        }
    }

    /// <summary>
    /// From the web pod: an upgrade request, then (after the 101) "ping\n"; returns what came back
    /// up to the echo's end of line, after checking that a half-close then ends the connection.
    /// </summary>
    private async Task<string> UpgradeAsync(string extraHeaders)
    {
        using var thread = NetworkNamespaceThread.Start(cluster.ProcessPod.NetworkNamespacePath, "test-client");
        using var socket = await thread.RunAsync(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        await socket.ConnectAsync(cluster.Backend.IP, UpgradePort, Timeout);
        var request = $"GET /chat HTTP/1.1\r\nHost: backend:{UpgradePort}\r\nConnection: Upgrade\r\nUpgrade: echo\r\n{extraHeaders}\r\n";
        await socket.SendAsync(Encoding.ASCII.GetBytes(request), Timeout);
        var received = new StringBuilder();
        var buffer = new byte[4096];
        while (!received.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var n = await socket.ReceiveAsync(buffer, Timeout);
            Assert.True(n > 0, $"the connection ended before the response head: {received}");
            received.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        await socket.SendAsync("ping\n"u8.ToArray(), Timeout);
        var headEnd = received.ToString().IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4;
        while (received.Length == headEnd || !received.ToString().EndsWith('\n'))
        {
            var n = await socket.ReceiveAsync(buffer, Timeout);
            Assert.True(n > 0, $"the upgraded connection ended before the echo: {received}");
            received.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        // Kestrel takes a client's FIN for the end of the connection: the upgraded connection
        // ends (end of stream or reset) rather than staying half-open.
        socket.Shutdown(SocketShutdown.Send);
        try
        {
            Assert.Equal(0, await socket.ReceiveAsync(buffer, Timeout));
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
        }

        return received.ToString();
    }
}
