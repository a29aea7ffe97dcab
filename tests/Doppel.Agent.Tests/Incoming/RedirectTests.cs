using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Doppel.Agent.Incoming;
using Doppel.Agent.Network;
using Doppel.Agent.Targets;
using Doppel.Linux.Namespaces;
using Doppel.Linux.Sockets;
using Doppel.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Doppel.Agent.Tests.Incoming;

/// <summary>
/// The nftables redirect in a real pod's network namespace: the "backend" pod's HTTP server on
/// <see cref="ClusterFixture.HttpPort"/> is the app, the test plays the agent (its listener in the
/// pod's namespace), and clients connect from the "web" pod or from inside the backend pod.
/// </summary>
public sealed class RedirectTests(ClusterFixture cluster) : IClassFixture<ClusterFixture>
{
    private const string Stolen = "stolen by the test\n";

    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    private Pod App => cluster.Backend;

    private Target AppTarget => new(App.Pid, string.Empty);

    [Fact]
    public async Task AConnectionFromAnotherPodArrivesAtTheListenerWithItsOriginalDestination()
    {
        await using var agent = await FakeAgent.StartAsync(AppTarget, new RedirectOptions(), Timeout);
        Assert.Equal(RedirectMode.Owner, agent.Redirect.Mode);
        await agent.Redirect.AddPortAsync(ClusterFixture.HttpPort, Timeout);

        var destination = new IPEndPoint(App.IP, ClusterFixture.HttpPort);
        var (answer, original) = await agent.ExchangeAsync(cluster.ProcessPod.NetworkNamespacePath, destination, Timeout);

        Assert.Equal(Stolen, answer);
        Assert.Equal(destination, original);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    [InlineData("pod")]
    public async Task AConnectionFromInsideThePodArrivesAtTheListenerWithItsOriginalDestination(string address)
    {
        await using var agent = await FakeAgent.StartAsync(AppTarget, new RedirectOptions(), Timeout);
        await agent.Redirect.AddPortAsync(ClusterFixture.HttpPort, Timeout);

        var destination = new IPEndPoint(address == "pod" ? App.IP : IPAddress.Parse(address), ClusterFixture.HttpPort);
        var (answer, original) = await agent.ExchangeAsync(App.NetworkNamespacePath, destination, Timeout);

        Assert.Equal(Stolen, answer);
        Assert.Equal(destination, original);
    }

    [Fact]
    public async Task AnIpv6ConnectionFromAnotherPodArrivesAtTheListenerWithItsOriginalDestination()
    {
        // The harness's pods have IPv4 only: give both an IPv6 address on the pod network for this test.
        var appAddress = IPAddress.Parse("fd00:d0:99::20");
        await using var addresses = await Ipv6Addresses.AddAsync([(App, appAddress), (cluster.ProcessPod, IPAddress.Parse("fd00:d0:99::21"))], Timeout);
        await using var agent = await FakeAgent.StartAsync(AppTarget, new RedirectOptions(), Timeout);
        await agent.Redirect.AddPortAsync(ClusterFixture.HttpPort, Timeout);

        var destination = new IPEndPoint(appAddress, ClusterFixture.HttpPort);
        var (answer, original) = await agent.ExchangeAsync(cluster.ProcessPod.NetworkNamespacePath, destination, Timeout);

        Assert.Equal(Stolen, answer);
        Assert.Equal(destination, original);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("pod")]
    public async Task TheAgentsMarkedConnectionReachesTheApp(string address)
    {
        await using var agent = await FakeAgent.StartAsync(AppTarget, new RedirectOptions(), Timeout);
        await agent.Redirect.AddPortAsync(ClusterFixture.HttpPort, Timeout);

        using var socket = await agent.Network.CreateSocketAsync(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        IncomingRedirect.MarkAsAgentConnection(socket);
        Assert.Equal(IncomingRedirect.AgentSocketMark, SocketMark.Get(socket));
        var answer = await HttpGetAsync(socket, new IPEndPoint(address == "pod" ? App.IP : IPAddress.Loopback, ClusterFixture.HttpPort), Timeout);

        Assert.Contains("hello from backend", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AfterRemovePortConnectionsReachTheAppAgain()
    {
        await using var agent = await FakeAgent.StartAsync(AppTarget, new RedirectOptions(), Timeout);
        await agent.Redirect.AddPortAsync(ClusterFixture.HttpPort, Timeout);
        await agent.Redirect.AddPortAsync(ClusterFixture.HttpPort, Timeout);
        await agent.Redirect.AddPortAsync(ClusterFixture.TcpEchoPort, Timeout);
        Assert.Equal([ClusterFixture.TcpEchoPort, ClusterFixture.HttpPort], agent.Redirect.Ports);

        await agent.Redirect.RemovePortAsync(ClusterFixture.HttpPort, Timeout);
        await agent.Redirect.RemovePortAsync(ClusterFixture.HttpPort, Timeout);

        Assert.Equal([ClusterFixture.TcpEchoPort], agent.Redirect.Ports);
        Assert.Contains("hello from backend", await GetFromWebAsync(), StringComparison.Ordinal);
        var (answer, _) = await agent.ExchangeAsync(cluster.ProcessPod.NetworkNamespacePath, new IPEndPoint(App.IP, ClusterFixture.TcpEchoPort), Timeout);
        Assert.Equal(Stolen, answer);
    }

    [Fact]
    public async Task AddingAPortWithFlushEndsTheConnectionsMadeBeforeButNotTheAgentsOwn()
    {
        await using var agent = await FakeAgent.StartAsync(AppTarget, new RedirectOptions(), Timeout);
        var echo = new IPEndPoint(App.IP, ClusterFixture.TcpEchoPort);

        // A client in the web pod, connected to the app before any redirect.
        using var webThread = NetworkNamespaceThread.Start(cluster.ProcessPod.NetworkNamespacePath, "test-client");
        using var before = await webThread.RunAsync(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        await before.ConnectAsync(echo, Timeout);
        Assert.Equal("a", await EchoAsync(before, "a"));

        // The agent's own (marked) connection to the app, made while the port was redirected once already.
        await agent.Redirect.AddPortAsync(ClusterFixture.TcpEchoPort, Timeout);
        using var own = await agent.Network.CreateSocketAsync(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        IncomingRedirect.MarkAsAgentConnection(own);
        await own.ConnectAsync(echo, Timeout);
        Assert.Equal("b", await EchoAsync(own, "b"));
        await agent.Redirect.RemovePortAsync(ClusterFixture.TcpEchoPort, Timeout);

        var flushed = await agent.Redirect.AddPortAsync(ClusterFixture.TcpEchoPort, flushEstablished: true, Timeout);

        Assert.Equal(1, flushed);
        var ended = await Assert.ThrowsAsync<SocketException>(() => EchoAsync(before, "c"));
        Assert.Contains(ended.SocketErrorCode, new[] { SocketError.ConnectionReset, SocketError.Shutdown, SocketError.ConnectionAborted });
        Assert.Equal("d", await EchoAsync(own, "d"));
        var (answer, _) = await agent.ExchangeAsync(cluster.ProcessPod.NetworkNamespacePath, echo, Timeout);
        Assert.Equal(Stolen, answer);
    }

    [Fact]
    public async Task ClosingTheNftablesContextAsTheAgentsDeathDoesRemovesTheOwnerTable()
    {
        await using var agent = await FakeAgent.StartAsync(AppTarget, new RedirectOptions(), Timeout);
        await agent.Redirect.AddPortAsync(ClusterFixture.HttpPort, Timeout);
        Assert.Contains(agent.Redirect.TableName, await ListTablesAsync(), StringComparison.Ordinal);

        agent.Redirect.CloseWithoutDeleting();

        // The kernel drops the table when the last reference to the netlink socket closes. Another
        // test class of this host may be between fork and exec at that instant, holding a copy of
        // every descriptor until its exec closes the CLOEXEC ones: so wait for that, not for a time.
        var waited = Stopwatch.StartNew();
        while ((await ListTablesAsync()).Contains(agent.Redirect.TableName, StringComparison.Ordinal))
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(10), $"{agent.Redirect.TableName} outlived its netlink socket");
            await Task.Delay(50, Timeout);
        }

        Assert.Contains("hello from backend", await GetFromWebAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithTheLeaseTheRedirectLastsWhileRenewedAndEndsWhenRenewalStops()
    {
        var options = new RedirectOptions { ForceLease = true, Lease = TimeSpan.FromSeconds(6) };
        await using var agent = await FakeAgent.StartAsync(AppTarget, options, Timeout);
        Assert.Equal(RedirectMode.Lease, agent.Redirect.Mode);
        await agent.Redirect.AddPortAsync(ClusterFixture.HttpPort, Timeout);
        Assert.DoesNotContain("flags owner", await ListTableAsync(agent.Redirect.TableName), StringComparison.Ordinal);

        // Renewed every 2 s: still redirected after the first lease has run out.
        await Task.Delay(options.Lease + TimeSpan.FromSeconds(1), Timeout);
        var destination = new IPEndPoint(App.IP, ClusterFixture.HttpPort);
        Assert.Equal(Stolen, (await agent.ExchangeAsync(cluster.ProcessPod.NetworkNamespacePath, destination, Timeout)).Answer);

        agent.Redirect.StopRenewing();

        var limit = Stopwatch.StartNew();
        while (!(await GetFromWebAsync(acceptFailure: true)).Contains("hello from backend", StringComparison.Ordinal))
        {
            Assert.True(limit.Elapsed < TimeSpan.FromSeconds(60), "the lease never ran out");
            agent.AcceptAndAnswerPending();
            await Task.Delay(200, Timeout);
        }
    }

    [Fact]
    public async Task ANewRedirectRemovesTheTablesOfDeadAgentsOnly()
    {
        var deadPid = await DeadPidAsync();
        var dead = $"doppel_{deadPid}_1";
        var living = $"doppel_{App.Pid}_7";
        await NftAsync(["add", "table", "inet", dead]);
        await NftAsync(["add", "table", "inet", living]);
        try
        {
            await using var agent = await FakeAgent.StartAsync(AppTarget, new RedirectOptions(), Timeout);

            var tables = await ListTablesAsync();
            Assert.DoesNotContain(dead, tables, StringComparison.Ordinal);
            Assert.Contains(living, tables, StringComparison.Ordinal);
            Assert.Contains(agent.Redirect.TableName, tables, StringComparison.Ordinal);
        }
        finally
        {
            await App.ExecInNetworkAsync(["nft", "delete", "table", "inet", dead], CancellationToken.None);
            await NftAsync(["delete", "table", "inet", living]);
        }
    }

    [Fact]
    public async Task DisposeDeletesTheTable()
    {
        string table;
        await using (var agent = await FakeAgent.StartAsync(AppTarget, new RedirectOptions { ForceLease = true }, Timeout))
        {
            table = agent.Redirect.TableName;
            await agent.Redirect.AddPortAsync(ClusterFixture.HttpPort, Timeout);
            Assert.Contains(table, await ListTablesAsync(), StringComparison.Ordinal);
        }

        Assert.DoesNotContain(table, await ListTablesAsync(), StringComparison.Ordinal);
        Assert.Contains("hello from backend", await GetFromWebAsync(), StringComparison.Ordinal);
    }

    private async Task<string> ListTablesAsync() => (await NftAsync(["list", "tables"])).StandardOutput;

    private async Task<string> ListTableAsync(string table) => (await NftAsync(["list", "table", "inet", table])).StandardOutput;

    private async Task<ExecResult> NftAsync(IReadOnlyList<string> arguments)
        => (await App.ExecInNetworkAsync(["nft", .. arguments], Timeout)).EnsureSuccess($"nft {string.Join(' ', arguments)}");

    /// <summary>GET / of the app from the web pod with curl; with <paramref name="acceptFailure"/> a failed request gives an empty answer.</summary>
    private async Task<string> GetFromWebAsync(bool acceptFailure = false)
    {
        var result = await cluster.ProcessPod.ExecInNetworkAsync(["curl", "-s", "-m", "5", $"http://{App.IP}:{ClusterFixture.HttpPort}/"], Timeout);
        return acceptFailure ? result.StandardOutput : result.EnsureSuccess("curl from the web pod").StandardOutput;
    }

    private static async Task<int> DeadPidAsync()
    {
        using var process = Process.Start("true")!;
        await process.WaitForExitAsync(Timeout);
        return process.Id;
    }

    private static async Task<string> HttpGetAsync(Socket socket, IPEndPoint destination, CancellationToken cancellationToken)
    {
        await socket.ConnectAsync(destination, cancellationToken);
        await socket.SendAsync("GET / HTTP/1.0\r\n\r\n"u8.ToArray(), cancellationToken);
        return await ReadToEndAsync(socket, cancellationToken);
    }

    private static async Task<string> EchoAsync(Socket socket, string text)
    {
        await socket.SendAsync(Encoding.UTF8.GetBytes(text), Timeout);
        var buffer = new byte[text.Length];
        var n = await socket.ReceiveAsync(buffer, Timeout);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    private static async Task<string> ReadToEndAsync(Socket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        var text = new StringBuilder();
        int n;
        while ((n = await socket.ReceiveAsync(buffer, cancellationToken)) > 0)
        {
            text.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }

        return text.ToString();
    }

    /// <summary>The test's stand-in for the agent: a listener in the app's namespace and the redirect to it.</summary>
    private sealed class FakeAgent : IAsyncDisposable
    {
        private FakeAgent(TargetNetwork network, Socket listener, IncomingRedirect redirect)
        {
            Network = network;
            Listener = listener;
            Redirect = redirect;
        }

        public TargetNetwork Network { get; }

        public Socket Listener { get; }

        public IncomingRedirect Redirect { get; }

        public static async Task<FakeAgent> StartAsync(Target target, RedirectOptions options, CancellationToken cancellationToken)
        {
            var network = TargetNetwork.Open(target);
            Socket? listener = null;
            try
            {
                listener = await RedirectListener.OpenAsync(network, cancellationToken);
                var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
                var redirect = await IncomingRedirect.CreateAsync(target, port, options, NullLogger.Instance, cancellationToken);
                return new FakeAgent(network, listener, redirect);
            }
            catch
            {
                listener?.Dispose();
                network.Dispose();
                throw;
            }
        }

        /// <summary>
        /// Connects from a socket made in <paramref name="clientNamespace"/> to <paramref name="destination"/>;
        /// the listener accepts, reads the original destination and answers <see cref="Stolen"/>.
        /// </summary>
        public async Task<(string Answer, IPEndPoint? Original)> ExchangeAsync(string clientNamespace, IPEndPoint destination, CancellationToken cancellationToken)
        {
            using var clientThread = NetworkNamespaceThread.Start(clientNamespace, "test-client");
            using var client = await clientThread.RunAsync(() => new Socket(destination.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
            var accepting = Listener.AcceptAsync(cancellationToken).AsTask();
            await client.ConnectAsync(destination, cancellationToken);
            using var accepted = await accepting;
            var original = OriginalDestination.Get(accepted);
            await accepted.SendAsync(Encoding.UTF8.GetBytes(Stolen), cancellationToken);
            accepted.Shutdown(SocketShutdown.Both);
            return (await ReadToEndAsync(client, cancellationToken), original);
        }

        /// <summary>Answers and closes connections that are waiting in the listener's backlog (so a polling client is never left hanging).</summary>
        public void AcceptAndAnswerPending()
        {
            Listener.Blocking = false;
            try
            {
                while (true)
                {
                    using var accepted = Listener.Accept();
                    accepted.Send(Encoding.UTF8.GetBytes(Stolen));
                    accepted.Shutdown(SocketShutdown.Both);
                }
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
            {
            }
            finally
            {
                Listener.Blocking = true;
            }
        }

        public ValueTask DisposeAsync()
        {
            Redirect.Dispose();
            Listener.Dispose();
            Network.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>IPv6 addresses added to pods' eth0 for one test, removed on dispose.</summary>
    private sealed class Ipv6Addresses : IAsyncDisposable
    {
        private readonly List<(Pod Pod, IPAddress Address)> _added = [];

        public static async Task<Ipv6Addresses> AddAsync(IReadOnlyList<(Pod Pod, IPAddress Address)> addresses, CancellationToken cancellationToken)
        {
            var added = new Ipv6Addresses();
            try
            {
                foreach (var (pod, address) in addresses)
                {
                    (await RunAsync(["ip", "-n", pod.NetworkNamespace, "addr", "add", $"{address}/64", "dev", "eth0", "nodad"], cancellationToken)).EnsureSuccess($"adding {address} to {pod}");
                    added._added.Add((pod, address));
                }

                return added;
            }
            catch
            {
                await added.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var (pod, address) in _added)
            {
                await RunAsync(["ip", "-n", pod.NetworkNamespace, "addr", "del", $"{address}/64", "dev", "eth0"], CancellationToken.None);
            }
        }

        private static async Task<ExecResult> RunAsync(IReadOnlyList<string> command, CancellationToken cancellationToken)
        {
            using var process = Process.Start(new ProcessStartInfo(command[0], command.Skip(1)) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var error = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            return new ExecResult(process.ExitCode, await output, await error);
        }
    }
}
