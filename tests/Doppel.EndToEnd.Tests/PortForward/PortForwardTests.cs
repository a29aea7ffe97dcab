using System.Net.Sockets;
using System.Text;
using Doppel.Testing;

namespace Doppel.EndToEnd.Tests.PortForward;

/// <summary>
/// <c>doppel port-forward</c> end to end on the mini-cluster: -L to a service by name and by IP,
/// several at once, a destination that refuses; -R stealing whole and with a header filter; bad
/// flags; Ctrl+C.
/// </summary>
public sealed class PortForwardTests(PortForwardFixture cluster) : IClassFixture<PortForwardFixture>
{
    [Fact]
    public async Task ForwardsALocalPortToAServiceByItsNameInThePod()
    {
        await using var doppel = await cluster.StartReadyAsync("-L", "18080:backend:80");

        var answer = await cluster.LocalCurlAsync("http://127.0.0.1:18080/");

        Assert.Equal(PortForwardFixture.BackendBody, answer.StandardOutput);
        Assert.Contains("forwarding 127.0.0.1:18080 → backend:80 from pid/", doppel.SoFar.Stderr, StringComparison.Ordinal);
        Assert.Equal(0, (await PortForwardFixture.InterruptAsync(doppel)).ExitCode);
    }

    [Fact]
    public async Task ForwardsSeveralPortsAtOnceToAddressesWithTheLocalPortDefaultingToTheRemoteOne()
    {
        var backend = cluster.Backend.IP.ToString();
        await using var doppel = await cluster.StartReadyAsync("-L", $"{backend}:{PortForwardFixture.EchoPort}", "--port-mapping", $"18081:{backend}:80");

        using (var echo = await cluster.ConnectLocallyAsync(PortForwardFixture.EchoPort))
        {
            var sent = Encoding.ASCII.GetBytes("ping through the pod\n");
            await echo.SendAsync(sent);
            echo.Shutdown(SocketShutdown.Send);
            Assert.Equal(sent, await ReadToEndAsync(echo));
        }

        var answer = await cluster.LocalCurlAsync("http://127.0.0.1:18081/");
        Assert.Equal(PortForwardFixture.BackendBody, answer.StandardOutput);
        Assert.Equal(0, (await PortForwardFixture.InterruptAsync(doppel)).ExitCode);
    }

    [Fact]
    public async Task ADestinationThatRefusesClosesTheLocalConnectionAndForwardingGoesOn()
    {
        var backend = cluster.Backend.IP.ToString();
        await using var doppel = await cluster.StartReadyAsync("-L", $"18082:{backend}:1", "-L", $"18083:{backend}:80");

        using (var refused = await cluster.ConnectLocallyAsync(18082))
        {
            // The local accept happened before the pod's connect failed: the connection is then reset.
            var read = await Assert.ThrowsAsync<SocketException>(async () => await refused.ReceiveAsync(new byte[16], SocketFlags.None));
            Assert.Equal(SocketError.ConnectionReset, read.SocketErrorCode);
        }

        await PortForwardFixture.WaitForStderrAsync(doppel, $"127.0.0.1:18082 → {backend}:1: the pod could not connect to {backend}:1 (Connection refused); the local connection was reset, and doppel goes on forwarding.");
        var answer = await cluster.LocalCurlAsync("http://127.0.0.1:18083/");
        Assert.Equal(PortForwardFixture.BackendBody, answer.StandardOutput);
        Assert.Equal(0, (await PortForwardFixture.InterruptAsync(doppel)).ExitCode);
    }

    [Fact]
    public async Task ReverseStealTakesTheTargetsPortToTheLocalApp()
    {
        await using var app = await cluster.StartLocalAppAsync("carol");
        var config = cluster.WriteConfig("steal.json", """{ "feature": { "network": { "incoming": "steal" } } }""");
        await using var doppel = await cluster.StartReadyAsync("-f", config, "-R", $"80:{PortForwardFixture.LocalAppPort}");
        await PortForwardFixture.WaitForStderrAsync(doppel, $"steal :80 → localhost:{PortForwardFixture.LocalAppPort}");

        var answer = await cluster.PodCurlAsync($"http://{cluster.Web.IP}/orders");

        Assert.Equal("carol 1.1 GET /orders\n", answer.StandardOutput);
        Assert.Equal(0, (await PortForwardFixture.InterruptAsync(doppel)).ExitCode);

        // Unsubscribed at the end: the pod's app answers again.
        Assert.Equal("pod 1.1 GET /orders\n", (await cluster.PodCurlAsync($"http://{cluster.Web.IP}/orders")).StandardOutput);
    }

    [Fact]
    public async Task ReverseStealWithAHeaderFilterTakesOnlyMatchingRequests()
    {
        await using var app = await cluster.StartLocalAppAsync("carol");
        var config = cluster.WriteConfig("filtered.json", """{ "feature": { "network": { "incoming": { "mode": "steal", "http_filter": { "header_filter": "^X-Dev-User: carol$" } } } } }""");
        await using var doppel = await cluster.StartReadyAsync("-f", config, "-R", $"80:{PortForwardFixture.LocalAppPort}");
        await PortForwardFixture.WaitForStderrAsync(doppel, $"steal :80 → localhost:{PortForwardFixture.LocalAppPort} (filter ");

        Assert.Equal("carol 1.1 GET /a\n", (await cluster.PodCurlAsync("-H", "X-Dev-User: carol", $"http://{cluster.Web.IP}/a")).StandardOutput);
        Assert.Equal("pod 1.1 GET /b\n", (await cluster.PodCurlAsync("-H", "X-Dev-User: dave", $"http://{cluster.Web.IP}/b")).StandardOutput);
        Assert.Equal("pod 1.1 GET /c\n", (await cluster.PodCurlAsync($"http://{cluster.Web.IP}/c")).StandardOutput);
        Assert.Equal(0, (await PortForwardFixture.InterruptAsync(doppel)).ExitCode);
    }

    [Theory]
    [InlineData("-L|8080", "-L '8080': it takes [local_port:]remote_host:remote_port, for example 8080:postgres:5432 or redis:6379.")]
    [InlineData("-L|1:2:3:4", "-L '1:2:3:4': it takes [local_port:]remote_host:remote_port")]
    [InlineData("-L|0:backend:80", "-L '0:backend:80': '0' is not a port (1–65535).")]
    [InlineData("-L|backend:70000", "-L 'backend:70000': '70000' is not a port (1–65535).")]
    [InlineData("-L|8080::80", "-L '8080::80': the remote host is empty;")]
    [InlineData("-L|8080:a:80|-L|8080:b:81", "-L '8080:b:81' uses local port 8080, as '8080:a:80' does already; give each -L its own local port.")]
    [InlineData("-R|80:x", "-R '80:x': 'x' is not a port (1–65535).")]
    [InlineData("-R|1:2:3", "-R '1:2:3': it takes [remote_port:]local_port, for example 80:3000 or 8080.")]
    [InlineData("-R|80:3000|-R|80:3001", "-R '80:3001' uses target port 80, as '80:3000' does already; give each -R its own target port.")]
    [InlineData("-t|pid/1", "doppel port-forward needs at least one -L [local_port:]remote_host:remote_port or -R [remote_port:]local_port.")]
    public async Task ABadFlagIsOneSentenceNamingItAndExitCode2(string arguments, string expected)
    {
        await using var doppel = cluster.Start(arguments.Split('|'));
        var result = await doppel.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("error: " + expected, result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("\n   at ", result.Stderr, StringComparison.Ordinal); // no stack trace
    }

    [Fact]
    public async Task CtrlCClosesTheListenersAndForwardedConnectionsAndExits0()
    {
        await using var doppel = await cluster.StartReadyAsync("-L", $"18084:backend:{PortForwardFixture.EchoPort}");
        using var open = await cluster.ConnectLocallyAsync(18084);
        await open.SendAsync(Encoding.ASCII.GetBytes("x"));
        Assert.Equal("x"u8.ToArray(), await ReadAsync(open, 1));

        var result = await PortForwardFixture.InterruptAsync(doppel);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("stopping the port-forward ...", result.Stderr, StringComparison.Ordinal);

        // The forwarded connection ended with doppel, and nothing listens any more.
        var end = await ReadToEndOrResetAsync(open);
        Assert.True(end, "the forwarded connection stayed open after doppel exited");
        var refused = await Assert.ThrowsAsync<SocketException>(() => cluster.ConnectLocallyAsync(18084));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }

    private static async Task<byte[]> ReadToEndAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var all = new List<byte>();
        var buffer = new byte[4096];
        int n;
        while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
        {
            all.AddRange(buffer.AsSpan(0, n));
        }

        return [.. all];
    }

    private static async Task<byte[]> ReadAsync(Socket socket, int count)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var buffer = new byte[count];
        var read = 0;
        while (read < count)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, timeout.Token);
            Assert.True(n > 0, "the connection ended early");
            read += n;
        }

        return buffer;
    }

    /// <summary>True when the connection ends (end of stream or reset) within 30 s.</summary>
    private static async Task<bool> ReadToEndOrResetAsync(Socket socket)
    {
        try
        {
            await ReadToEndAsync(socket);
            return true;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
