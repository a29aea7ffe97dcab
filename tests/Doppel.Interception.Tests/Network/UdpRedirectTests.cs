using System.Net;
using System.Text;
using Doppel.Interception.Policy;
using Doppel.Interception.Tests.Support;

namespace Doppel.Interception.Tests.Network;

public sealed class UdpRedirectTests
{
    private static readonly IPEndPoint Echo = new(IPAddress.Parse("192.0.2.53"), 5353);

    private static TestPolicy Policy => new()
    {
        Families = SyscallFamilies.Outgoing | SyscallFamilies.OutgoingUdp,
        RemoteAddresses = new HashSet<IPAddress> { Echo.Address },
    };

    private static LoopbackUdpService Pong() => new(q => [.. Encoding.ASCII.GetBytes("pong:"), .. q]);

    [Theory]
    [InlineData("AF_INET", "192.0.2.53")]
    [InlineData("AF_INET6", "::ffff:192.0.2.53")]
    public async Task SendtoAndRecvfromSeeTheRemoteAddress(string family, string address)
    {
        using var service = new Holder<LoopbackUdpService>();
        var remote = new DirectoryRemote("/nonexistent");
        var script = $$"""
            import socket
            s = socket.socket(socket.{{family}}, socket.SOCK_DGRAM)
            s.settimeout(10)
            s.sendto(b"ping", ("{{address}}", 5353))
            data, addr = s.recvfrom(100)
            print(data.decode(), addr[0], addr[1])
            """;

        var result = await Run.IsolatedAsync(Run.Options("python3", "-c", script), Policy, remote, setup: () =>
        {
            service.Value = Pong();
            remote.AddUdpService(Echo, service.Value.EndPoint);
        });

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal($"pong:ping {address} 5353\n", result.Stdout);
    }

    [Fact]
    public async Task SendmsgAndRecvmsgSeeTheRemoteAddress()
    {
        using var service = new Holder<LoopbackUdpService>();
        var remote = new DirectoryRemote("/nonexistent");
        var script = """
            import socket
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(10)
            print(s.sendmsg([b"pi", b"ng"], [], 0, ("192.0.2.53", 5353)))
            data, anc, flags, addr = s.recvmsg(100)
            print(data.decode(), addr)
            """;

        var result = await Run.IsolatedAsync(Run.Options("python3", "-c", script), Policy, remote, setup: () =>
        {
            service.Value = Pong();
            remote.AddUdpService(Echo, service.Value.EndPoint);
        });

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("4\npong:ping ('192.0.2.53', 5353)\n", result.Stdout);
    }

    [Fact]
    public async Task ConnectedUdpSocketTalksToTheRemoteAddress()
    {
        using var service = new Holder<LoopbackUdpService>();
        var remote = new DirectoryRemote("/nonexistent");
        var script = """
            import socket
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(10)
            s.connect(("192.0.2.53", 5353))
            s.send(b"one")
            print(s.recv(100).decode(), s.getpeername())
            s.send(b"two")
            data, addr = s.recvfrom(100)
            print(data.decode(), addr)
            """;

        var result = await Run.IsolatedAsync(Run.Options("python3", "-c", script), Policy, remote, setup: () =>
        {
            service.Value = Pong();
            remote.AddUdpService(Echo, service.Value.EndPoint);
        });

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("pong:one ('192.0.2.53', 5353)\npong:two ('192.0.2.53', 5353)\n", result.Stdout);
    }

    [Fact]
    public async Task GlibcResolverUsesTheRemoteResolvConfAndTheRemoteDns()
    {
        using var fs = new RemoteFileSystem();
        Directory.CreateDirectory(fs.Root + "/etc");
        await File.WriteAllTextAsync(fs.Root + "/etc/resolv.conf", "nameserver 192.0.2.53\noptions timeout:2 attempts:1\n");
        using var dns = new Holder<LoopbackUdpService>();
        var dnsAddress = new IPEndPoint(IPAddress.Parse("192.0.2.53"), 53);
        var policy = new TestPolicy
        {
            Families = SyscallFamilies.FilesRead | SyscallFamilies.Outgoing | SyscallFamilies.OutgoingUdp,
            RemotePrefixes = ["/etc/resolv.conf"],
            RemoteAddresses = new HashSet<IPAddress> { dnsAddress.Address },
        };
        var script = """
            import socket
            print(sorted({a[4][0] for a in socket.getaddrinfo("db.svc.cluster.local", 80, socket.AF_INET, socket.SOCK_STREAM)}))
            # A and AAAA in parallel: glibc sends both with sendmmsg on a connected socket.
            print(sorted({a[4][0] for a in socket.getaddrinfo("db.svc.cluster.local", 80, socket.AF_UNSPEC, socket.SOCK_STREAM)}))
            """;

        var result = await Run.IsolatedAsync(Run.Options("python3", "-c", script), policy, fs.Remote, setup: () =>
        {
            dns.Value = LoopbackUdpService.Dns(new Dictionary<string, IPAddress> { ["db.svc.cluster.local"] = IPAddress.Parse("10.1.2.3") });
            fs.Remote.AddUdpService(dnsAddress, dns.Value.EndPoint);
        });

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("['10.1.2.3']\n['10.1.2.3']\n", result.Stdout);
        Assert.Contains("/etc/resolv.conf", fs.Remote.Reads);
    }
}
