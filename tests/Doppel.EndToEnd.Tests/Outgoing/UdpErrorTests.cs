using Doppel.EndToEnd.Tests.Support;
using Doppel.Testing;

namespace Doppel.EndToEnd.Tests.Outgoing;

/// <summary>
/// A connected UDP socket to a closed pod port gets ECONNREFUSED on its next recv/send, as in the
/// pod: the pod answers the agent's datagram with an ICMP port unreachable and doppel hands the
/// error to the app's own socket. Each program also runs directly in the bff pod's network
/// (<c>ip netns exec</c>), and doppel's run must print the same.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class UdpErrorTests(ClusterFixture fixture)
{
    private const int ClosedPort = 9099;
    private const int LaterOpenPort = 9098;

    private const string PythonClient = """
        import errno, select, signal, socket, sys, time

        # Bounded: a missing error must fail the test, not hang it.
        signal.alarm(20)
        mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
        family = socket.AF_INET6 if len(sys.argv) > 4 and sys.argv[4] == "6" else socket.AF_INET
        address = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_DGRAM)[0][4][0]
        if family == socket.AF_INET6:
            address = "::ffff:" + address
        s = socket.socket(family, socket.SOCK_DGRAM)
        if mode != "unconnected":
            s.connect((address, port))

        def attempt(name, call):
            try:
                result = call()
                print(name, result if isinstance(result, int) else repr(result))
            except OSError as e:
                print(name, errno.errorcode.get(e.errno, e.errno))

        if mode == "blocking":
            attempt("send", lambda: s.send(b"ping"))
            attempt("recv", lambda: s.recv(100))
            attempt("send", lambda: s.send(b"ping"))
            attempt("recvfrom", lambda: s.recvfrom(100))
        elif mode == "poll":
            s.setblocking(False)
            attempt("send", lambda: s.send(b"ping"))
            p = select.poll()
            p.register(s, select.POLLIN)
            events = p.poll(10000)
            print("poll", " ".join(n for n in ("POLLIN", "POLLERR") if events and events[0][1] & getattr(select, n)))
            attempt("recv", lambda: s.recv(100))
            attempt("recv", lambda: s.recv(100))
        elif mode == "send-after":
            attempt("send", lambda: s.send(b"ping"))
            time.sleep(1)
            attempt("send", lambda: s.send(b"ping"))
            attempt("send", lambda: s.send(b"ping"))
        elif mode == "unconnected":
            # Linux reports ICMP errors only to connected sockets (or with IP_RECVERR).
            attempt("sendto", lambda: s.sendto(b"ping", (address, port)))
            s.settimeout(1)
            try:
                s.recvfrom(100)
                print("recvfrom answered")
            except TimeoutError:
                print("recvfrom timeout")
            attempt("sendto", lambda: s.sendto(b"ping", (address, port)))
        elif mode == "reopen":
            attempt("send", lambda: s.send(b"ping"))
            attempt("recv", lambda: s.recv(100))
            print("waiting", flush=True)
            sys.stdin.readline()
            attempt("send", lambda: s.send(b"again"))
            attempt("recv", lambda: s.recv(100))
        """;

    private const string NodeClient = """
        // A connected dgram socket: the pod's ICMP port unreachable arrives as an 'error' event (recvmsg ECONNREFUSED).
        const dgram = require('dgram');
        const dns = require('dns');
        const [host, port] = [process.argv[2], Number(process.argv[3])];
        setTimeout(() => { console.log('timeout'); process.exit(3); }, 20000).unref();
        dns.lookup(host, { family: 4 }, (err, address) => {
          if (err) { console.log('lookup', err.code); process.exit(4); }
          const s = dgram.createSocket('udp4');
          let errors = 0;
          s.on('message', m => console.log('message', m.toString()));
          s.on('error', e => {
            console.log('error', e.code, e.syscall);
            if (++errors === 2) { s.close(); return; }
            s.send('ping', e2 => console.log('send', e2 ? e2.code : 'ok'));
          });
          s.connect(port, address, () => s.send('ping', e => console.log('send', e ? e.code : 'ok')));
        });
        """;

    private string Target => $"pid/{fixture.Bff.Pid}";

    [Theory]
    [InlineData("blocking", "4", "send 4\nrecv ECONNREFUSED\nsend 4\nrecvfrom ECONNREFUSED\n")]
    [InlineData("blocking", "6", "send 4\nrecv ECONNREFUSED\nsend 4\nrecvfrom ECONNREFUSED\n")]
    [InlineData("poll", "4", "send 4\npoll POLLERR\nrecv ECONNREFUSED\nrecv EAGAIN\n")]
    [InlineData("send-after", "4", "send 4\nsend ECONNREFUSED\nsend 4\n")]
    [InlineData("unconnected", "4", "sendto 4\nrecvfrom timeout\nsendto 4\n")]
    public async Task UdpToAClosedPodPortFailsAsInThePod(string mode, string family, string podOutput)
    {
        var script = fixture.WriteFile("udp_errors.py", PythonClient);
        string[] command = [ClusterFixture.Python, script, mode, ClusterFixture.BackendName, ClosedPort.ToString(), family];

        await AssertAsInThePodAsync(command, podOutput);
    }

    [Fact]
    public async Task NodeDgramSocketToAClosedPodPortEmitsEconnrefusedAsInThePod()
    {
        var script = fixture.WriteFile("udp_errors.js", NodeClient);

        await AssertAsInThePodAsync(["node", script, ClusterFixture.BackendName, ClosedPort.ToString()], "send ok\nerror ECONNREFUSED recvmsg\nsend ok\nerror ECONNREFUSED recvmsg\n");
    }

    [Fact]
    public async Task ARefusedConnectedSocketReachesThePortOnceItOpens()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await AllowEveryIcmpAsync(timeout.Token);
        var script = fixture.WriteFile("udp_errors.py", PythonClient);
        await using var doppel = DoppelExecProcess.Start(
            RepoPaths.Doppel, fixture.Cluster.Developer.Name,
            ["-t", Target, "--", ClusterFixture.Python, script, "reopen", ClusterFixture.BackendName, LaterOpenPort.ToString()],
            fixture.WorkDirectory, keepStdinOpen: true);

        Assert.Equal("send 4", await doppel.ReadLineAsync(TimeSpan.FromSeconds(30), timeout.Token));
        Assert.Equal("recv ECONNREFUSED", await doppel.ReadLineAsync(TimeSpan.FromSeconds(30), timeout.Token));
        Assert.Equal("waiting", await doppel.ReadLineAsync(TimeSpan.FromSeconds(30), timeout.Token));
        await fixture.Backend.StartAsync(PodServer.UdpEcho(LaterOpenPort), timeout.Token);
        await doppel.WriteLineAsync("go");
        var result = await doppel.WaitAsync(TimeSpan.FromSeconds(30), timeout.Token);

        result.AssertSucceededWith("send 4\nrecv ECONNREFUSED\nwaiting\nsend 5\nrecv b'again'\n");
    }

    /// <summary>
    /// Runs <paramref name="command"/> in the bff pod's network and under doppel: the pod's output
    /// must be <paramref name="podOutput"/> (the reference itself is checked) and doppel's the same.
    /// </summary>
    private async Task AssertAsInThePodAsync(IReadOnlyList<string> command, string podOutput)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await AllowEveryIcmpAsync(timeout.Token);

        var inPod = await fixture.Bff.ExecInNetworkAsync(command, timeout.Token);
        var underDoppel = await fixture.ExecAsync(["-t", Target, "--", .. command]);

        Assert.Equal(podOutput, inPod.StandardOutput);
        underDoppel.AssertSucceededWith(inPod.StandardOutput);
    }

    // The backend answers a closed port with ICMP port unreachable, by default at most 6 in a row
    // and then one per second towards one peer (net.ipv4.icmp_ratelimit): these tests send more.
    private async Task AllowEveryIcmpAsync(CancellationToken cancellationToken)
    {
        var result = await fixture.Backend.ExecInNetworkAsync(["sysctl", "-qw", "net.ipv4.icmp_ratelimit=0"], cancellationToken);
        result.EnsureSuccess("sysctl net.ipv4.icmp_ratelimit=0 in the backend pod");
    }
}
