using System.Net;
using System.Net.Sockets;
using System.Text;
using Doppel.Interception.Policy;
using Doppel.Interception.Tests.Support;
using Doppel.Testing;

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
    public async Task TheAppsConnectedSocketCanBeHandedARefusalAndStaysUsable()
    {
        using var standIn = new Holder<Socket>();
        var remote = new DirectoryRemote("/nonexistent") { KeepConnectedUdpSockets = true };
        var seen = new List<string>();
        var script = """
            import errno, socket, time
            s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            s.settimeout(10)
            s.connect(("::ffff:192.0.2.53", 5353))
            s.send(b"ping")
            try:
                s.recv(100)
                print("no error")
            except OSError as e:
                print(errno.errorcode[e.errno])
            time.sleep(0.5)  # "the port opens meanwhile"
            s.send(b"two")
            print(s.recv(100).decode())
            """;

        // The remote side's part: on "ping" the stand-in matches no datagram for a moment (it is
        // connected to itself) while the app's socket sends an empty one, and a witness after it
        // (its refusal says the app's has happened); then it answers "two".
        async Task ServeAsync(Socket socket)
        {
            var buffer = new byte[100];
            var first = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0));
            Assert.True(remote.ConnectedUdpSockets.TryPeek(out var app));
            seen.Add($"connected {app.IsConnectedTo((IPEndPoint)socket.LocalEndPoint!)}");
            using var witness = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            witness.Connect(socket.LocalEndPoint!);
            witness.ReceiveTimeout = 10_000;
            socket.Connect(socket.LocalEndPoint!);
            seen.Add($"sent {app.SendEmpty()}");
            witness.Send(ReadOnlySpan<byte>.Empty);
            seen.Add($"witness {Assert.Throws<SocketException>(() => witness.Receive(buffer)).SocketErrorCode}");
            socket.Connect(first.RemoteEndPoint);
            var second = await socket.ReceiveAsync(buffer, SocketFlags.None);
            await socket.SendAsync(Encoding.ASCII.GetBytes("pong:" + Encoding.ASCII.GetString(buffer, 0, second)), SocketFlags.None);
        }

        Task? serving = null;
        var result = await Run.IsolatedAsync(Run.Options("python3", "-c", script), Policy, remote, setup: () =>
        {
            standIn.Value = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            standIn.Value.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            remote.AddUdpService(Echo, (IPEndPoint)standIn.Value.LocalEndPoint!);
            serving = ServeAsync(standIn.Value);
        });
        Assert.True(result.ExitCode == 0, result.ToString());
        await serving!.WaitAsync(Run.Timeout);
        var closed = remote.ConnectedUdpSockets.TryPeek(out var gone) && !gone.IsConnectedTo((IPEndPoint)standIn.Value!.LocalEndPoint!);
        foreach (var socket in remote.ConnectedUdpSockets)
        {
            socket.Dispose();
        }

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("ECONNREFUSED\npong:two\n", result.Stdout);
        Assert.Equal(["connected True", "sent True", "witness ConnectionRefused"], seen);
        Assert.True(closed, "after the app exited its socket is no longer reported as connected");
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

    [Fact]
    public async Task RecvmmsgSeesTheRemoteAddressOnEveryMessage()
    {
        using var program = CProgram.Compile("""
            #define _GNU_SOURCE
            #include <arpa/inet.h>
            #include <stdio.h>
            #include <string.h>
            #include <sys/socket.h>
            int main(void) {
                int s = socket(AF_INET, SOCK_DGRAM, 0);
                struct timeval tv = { 10, 0 };
                setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
                struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(5353) };
                inet_pton(AF_INET, "192.0.2.53", &to.sin_addr);
                sendto(s, "a", 1, 0, (struct sockaddr *)&to, sizeof to);
                sendto(s, "bb", 2, 0, (struct sockaddr *)&to, sizeof to);
                char bufs[2][64]; struct sockaddr_in from[2]; struct iovec iov[2]; struct mmsghdr m[2];
                int got = 0;
                while (got < 2) {
                    memset(m, 0, sizeof m);
                    for (int i = 0; i < 2; i++) {
                        iov[i].iov_base = bufs[i]; iov[i].iov_len = sizeof bufs[i];
                        m[i].msg_hdr.msg_iov = &iov[i]; m[i].msg_hdr.msg_iovlen = 1;
                        m[i].msg_hdr.msg_name = &from[i]; m[i].msg_hdr.msg_namelen = sizeof from[i];
                    }
                    int n = recvmmsg(s, m, 2 - got, MSG_WAITFORONE, NULL);
                    if (n <= 0) { perror("recvmmsg"); return 1; }
                    for (int i = 0; i < n; i++) {
                        char ip[32]; inet_ntop(AF_INET, &from[i].sin_addr, ip, sizeof ip);
                        printf("%.*s from %s:%d\n", (int)m[i].msg_len, bufs[i], ip, ntohs(from[i].sin_port));
                    }
                    got += n;
                }
                return 0;
            }
            """);
        using var service = new Holder<LoopbackUdpService>();
        var remote = new DirectoryRemote("/nonexistent");

        var result = await Run.IsolatedAsync(Run.Options(program.Path), Policy, remote, setup: () =>
        {
            service.Value = Pong();
            remote.AddUdpService(Echo, service.Value.EndPoint);
        });

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order().ToArray();
        Assert.Equal(["pong:a from 192.0.2.53:5353", "pong:bb from 192.0.2.53:5353"], lines);
    }
}
