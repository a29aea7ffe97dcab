using System.Diagnostics;
using System.Net;
using Doppel.EndToEnd.Tests.Support;
using Doppel.Testing;

namespace Doppel.EndToEnd.Tests.Outgoing;

/// <summary>
/// A connect through the agent behaves like a connect in the pod: a non-blocking one returns
/// EINPROGRESS at once, the socket becomes writable when the pod's connect ends, SO_ERROR carries
/// the pod's errno; event loops keep running meanwhile. The backend pod drops SYNs to port 81
/// (an nft table made for each test), port 1 is closed, and <see cref="s_missingHost"/> is an
/// address in the pod network that no pod has (ARP fails: EHOSTUNREACH after ≈ 3 s).
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class NonBlockingConnectTests(ClusterFixture fixture) : IAsyncLifetime
{
    private const int DroppedPort = 81;
    private const string DropTable = "doppel_test_drop";
    private const string FirstSynTable = "doppel_test_first_syn";
    private static readonly IPAddress s_missingHost = IPAddress.Parse("10.244.0.253");

    // A non-blocking connect as an event loop makes it: connect, select for writable, SO_ERROR.
    private const string NonBlockingScript = """
        import errno, select, socket, sys, time
        host, port, wait = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        start = time.monotonic()
        r = s.connect_ex((host, port))
        took = time.monotonic() - start
        print("connect", errno.errorcode.get(r, r), "at once" if took < 1 else f"after {took:.1f} s")
        _, writable, _ = select.select([], [s], [], wait)
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        print("writable" if writable else "not writable", "so_error", errno.errorcode.get(err, err))
        if writable and err == 0:
            s.setblocking(True)
            s.settimeout(10)
            s.sendall(b"ping\n")
            print("echo", s.recv(100))
        """;

    // Waits in poll() and polls again at once as curl does, reading the bits (not SO_ERROR) to tell how the connect ended.
    private const string PollBitsScript = """
        import errno, select, socket, sys, time
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        start = time.monotonic()
        r = s.connect_ex((sys.argv[1], int(sys.argv[2])))
        print("connect", errno.errorcode.get(r, r), "at once" if time.monotonic() - start < 0.5 else "late")
        p = select.poll()
        p.register(s, select.POLLOUT | select.POLLERR | select.POLLHUP)
        while True:
            events = p.poll(30000)
            if not events:
                print("no poll event in 30 s")
                sys.exit(1)
            bits = events[0][1] | sum(e for _, e in p.poll(0))  # checked again at once, as curl does
            names = [n for n, b in (("POLLOUT", select.POLLOUT), ("POLLERR", select.POLLERR), ("POLLHUP", select.POLLHUP)) if bits & b]
            print("poll", "|".join(names))
            if bits & (select.POLLERR | select.POLLHUP):
                sys.exit(1)
            if bits & select.POLLOUT:
                break
        took = time.monotonic() - start
        print("writable after the dropped SYN's retry" if 0.5 <= took < 10 else f"writable after {took:.2f} s")
        s.setblocking(True)
        s.settimeout(10)
        s.sendall(b"ping\n")
        print("echo", s.recv(100))
        """;

    private const string SendTimeoutScript = """
        import errno, socket, struct, sys, time
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", 2, 0))
        start = time.monotonic()
        r = s.connect_ex((sys.argv[1], int(sys.argv[2])))
        took = time.monotonic() - start
        print("connect", errno.errorcode.get(r, r), "after about 2 s" if 1.6 <= took < 3.5 else f"after {took:.1f} s")
        """;

    // A blocking connect is interrupted by a signal (EINTR) as in the pod: the handler runs at once,
    // not when the pod's connect ends. Python raises from the handler, out of connect.
    private const string AlarmScript = """
        import errno, signal, socket, sys, time
        class Alarm(Exception): pass
        def on_alarm(signum, frame): raise Alarm()
        signal.signal(signal.SIGALRM, on_alarm)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        start = time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, 1.0)
        try:
            s.connect((sys.argv[1], int(sys.argv[2])))
            print("connected")
        except Alarm:
            took = time.monotonic() - start
            print("interrupted by its alarm", "after about 1 s" if 0.8 <= took < 2.5 else f"after {took:.1f} s")
        except OSError as e:
            print("connect", errno.errorcode.get(e.errno, e.errno), f"after {time.monotonic() - start:.1f} s")
        """;

    private const string AsyncioScript = """
        import asyncio, sys, time
        async def main(host, port):
            ticks = []
            async def tick():
                while True:
                    ticks.append(time.monotonic())
                    await asyncio.sleep(0.1)
            ticker = asyncio.create_task(tick())
            await asyncio.sleep(0.3)
            start = time.monotonic()
            try:
                await asyncio.wait_for(asyncio.open_connection(host, port), 2)
                result = "connected"
            except asyncio.TimeoutError:
                result = "timed out"
            except OSError as e:
                result = f"error {e}"
            end = time.monotonic()
            ticker.cancel()
            during = len([t for t in ticks if start <= t <= end])
            longest = max(b - a for a, b in zip(ticks, ticks[1:]))
            print(result)
            print("ticked throughout" if during >= 8 and longest < 1 else f"stalled: {during} ticks, longest gap {longest:.2f} s")
        asyncio.run(main(sys.argv[1], int(sys.argv[2])))
        """;

    private const string NodeScript = """
        const http = require('http'), net = require('net');
        const [host, port] = [process.argv[1], Number(process.argv[2])];
        const ticks = [];
        const timer = setInterval(() => ticks.push(Date.now()), 100);
        const server = http.createServer((q, r) => r.end('served\n')).listen(0, '127.0.0.1', () => {
          const start = Date.now();
          let served = false, done = false;
          setTimeout(() => http.get({ host: '127.0.0.1', port: server.address().port }, r => { r.resume(); served = true; }), 500);
          const socket = net.connect({ host, port });
          socket.setTimeout(2000, () => { socket.destroy(); finish('timed out'); });
          socket.on('connect', () => finish('connected'));
          socket.on('error', e => finish('error ' + e.code));
          function finish(result) {
            if (done) return;
            done = true;
            const end = Date.now();
            clearInterval(timer);
            server.close();
            const during = ticks.filter(t => t >= start && t <= end).length;
            const longest = Math.max(...ticks.slice(1).map((t, i) => t - ticks[i]));
            console.log(result);
            console.log(during >= 8 && longest < 1000 ? 'ticked throughout' : `stalled: ${during} ticks, longest gap ${longest} ms`);
            console.log(served ? 'its server answered meanwhile' : 'its server did not answer');
          }
        });
        """;

    private const string GoDialSource = """
        package main

        import (
            "fmt"
            "net"
            "os"
            "time"
        )

        func main() {
            start := time.Now()
            _, err := net.DialTimeout("tcp", os.Args[1], 2*time.Second)
            took := time.Since(start)
            if ne, ok := err.(net.Error); ok && ne.Timeout() {
                fmt.Println("its own timeout")
            } else {
                fmt.Println("dial:", err)
            }
            if took < 1500*time.Millisecond || took > 8*time.Second {
                fmt.Println("after", took)
            }
        }
        """;

    // Closes its socket while the connect is pending, when the test says so (a file appears).
    private const string CloseEarlyScript = """
        import os, socket, sys, time
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((sys.argv[1], int(sys.argv[2])))
        print("pending", flush=True)
        def wait_for(path):
            deadline = time.monotonic() + 30
            while not os.path.exists(path) and time.monotonic() < deadline:
                time.sleep(0.05)
        wait_for(sys.argv[3])
        s.close()
        print("closed", flush=True)
        wait_for(sys.argv[4])
        """;

    private string Target => $"pid/{fixture.Bff.Pid}";

    public async Task InitializeAsync()
    {
        Assert.DoesNotContain(fixture.Cluster.Pods, pod => pod.IP.Equals(s_missingHost));
        await RunAsync(
            ["ip", "netns", "exec", fixture.Backend.NetworkNamespace, "nft", "-f", "-"],
            $$"""
            table inet {{DropTable}} {
              chain input { type filter hook input priority 0; policy accept; tcp dport {{DroppedPort}} drop; }
            }
            """);
    }

    public async Task DisposeAsync() =>
        await RunAsync(["ip", "netns", "exec", fixture.Backend.NetworkNamespace, "nft", "delete", "table", "inet", DropTable]);

    [Theory]
    [InlineData("closed port", "connect EINPROGRESS at once\nwritable so_error ECONNREFUSED\n")]
    [InlineData("missing host", "connect EINPROGRESS at once\nwritable so_error EHOSTUNREACH\n")]
    [InlineData("dropped port", "connect EINPROGRESS at once\nnot writable so_error 0\n")]
    [InlineData("echo port", "connect EINPROGRESS at once\nwritable so_error 0\necho b'ping\\n'\n")]
    public async Task NonBlockingConnectEndsAsInThePod(string destination, string expected)
    {
        var script = fixture.WriteFile("nonblocking-connect.py", NonBlockingScript);
        string[] args = destination switch
        {
            "closed port" => [fixture.Backend.IP.ToString(), "1", "30"],
            "missing host" => [s_missingHost.ToString(), "80", "30"],
            "dropped port" => [fixture.Backend.IP.ToString(), DroppedPort.ToString(), "1"],
            "echo port" => [fixture.Backend.IP.ToString(), ClusterFixture.TcpEchoPort.ToString(), "30"],
            _ => throw new ArgumentOutOfRangeException(nameof(destination)),
        };

        var inPod = await fixture.Bff.ExecInNetworkAsync([ClusterFixture.Python, script, .. args], CancellationToken.None);
        var result = await fixture.ExecAsync(["-t", Target, "--", ClusterFixture.Python, script, .. args]);

        Assert.Equal(expected, inPod.StandardOutput);
        result.AssertSucceededWith(expected);
    }

    [Fact]
    public async Task BlockingConnectWithASendTimeoutReturnsEinprogressAfterItAsInThePod()
    {
        var script = fixture.WriteFile("sndtimeo-connect.py", SendTimeoutScript);
        string[] args = [fixture.Backend.IP.ToString(), DroppedPort.ToString()];

        var inPod = await fixture.Bff.ExecInNetworkAsync([ClusterFixture.Python, script, .. args], CancellationToken.None);
        var result = await fixture.ExecAsync(["-t", Target, "--", ClusterFixture.Python, script, .. args]);

        Assert.Equal("connect EINPROGRESS after about 2 s\n", inPod.StandardOutput);
        result.AssertSucceededWith("connect EINPROGRESS after about 2 s\n");
    }

    [Fact]
    public async Task ASignalInterruptsABlockingConnectAsInThePod()
    {
        var script = fixture.WriteFile("alarm-connect.py", AlarmScript);
        string[] args = [fixture.Backend.IP.ToString(), DroppedPort.ToString()];

        var inPod = await fixture.Bff.ExecInNetworkAsync([ClusterFixture.Python, script, .. args], CancellationToken.None);
        var result = await fixture.ExecAsync(["-t", Target, "--", ClusterFixture.Python, script, .. args]);

        Assert.Equal("interrupted by its alarm after about 1 s\n", inPod.StandardOutput);
        result.AssertSucceededWith("interrupted by its alarm after about 1 s\n");
    }

    [Fact]
    public async Task AnAsyncioEventLoopKeepsTickingWhileItsConnectToADroppedPortWaits()
    {
        var script = fixture.WriteFile("asyncio-connect.py", AsyncioScript);

        var result = await fixture.ExecAsync(["-t", Target, "--", ClusterFixture.Python, script, fixture.Backend.IP.ToString(), DroppedPort.ToString()]);

        result.AssertSucceededWith("timed out\nticked throughout\n");
    }

    [Fact]
    public async Task ANodeServerKeepsServingAndTickingWhileItsConnectToADroppedPortWaits()
    {
        // Its own server is on loopback: keep loopback local (by default it goes to the pod, as in mirrord).
        var config = fixture.WriteFile("ignore-localhost.json", """{ "feature": { "network": { "outgoing": { "ignore_localhost": true } } } }""");

        var result = await fixture.ExecAsync(["-t", Target, "-f", config, "--", "node", "-e", NodeScript, fixture.Backend.IP.ToString(), DroppedPort.ToString()]);

        result.AssertSucceededWith("timed out\nticked throughout\nits server answered meanwhile\n");
    }

    [Fact]
    public async Task GoDialTimeoutReportsItsOwnTimeoutAfterTwoSeconds()
    {
        using var build = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var dial = await CompiledPrograms.BuildGoAsync(Path.Combine(fixture.WorkDirectory, "go-dial"), GoDialSource, "dial", build.Token);

        var result = await fixture.ExecAsync(["-t", Target, "--", dial, $"{fixture.Backend.IP}:{DroppedPort}"]);

        result.AssertSucceededWith("its own timeout\n");
    }

    [Fact]
    public async Task APollerSeesOnlyWritableWhenAConnectSlowerThanItsFirstPollSucceeds()
    {
        var script = fixture.WriteFile("poll-bits.py", PollBitsScript);
        string[] args = [ClusterFixture.Python, script, fixture.Backend.IP.ToString(), ClusterFixture.TcpEchoPort.ToString()];
        const string expected = "connect EINPROGRESS at once\npoll POLLOUT\nwritable after the dropped SYN's retry\necho b'ping\\n'\n";

        await DropEachFirstSynAsync(ClusterFixture.TcpEchoPort);
        try
        {
            var inPod = await fixture.Bff.ExecInNetworkAsync(args, CancellationToken.None);
            var result = await fixture.ExecAsync(["-t", Target, "--", .. args]);

            Assert.Equal(expected, inPod.StandardOutput);
            result.AssertSucceededWith(expected);
        }
        finally
        {
            await RunAsync(["ip", "netns", "exec", fixture.Backend.NetworkNamespace, "nft", "delete", "table", "inet", FirstSynTable]);
        }
    }

    [Fact]
    public async Task CurlFetchesThroughAConnectSlowerThanItsFirstPoll()
    {
        await DropEachFirstSynAsync(80);
        try
        {
            var result = await fixture.ExecAsync(["-t", Target, "--", "curl", "-sS", "--noproxy", "*", "--max-time", "20", $"http://{ClusterFixture.BackendName}/"]);

            result.AssertSucceededWith(ClusterFixture.BackendBody);
        }
        finally
        {
            await RunAsync(["ip", "netns", "exec", fixture.Backend.NetworkNamespace, "nft", "delete", "table", "inet", FirstSynTable]);
        }
    }

    [Fact]
    public async Task ClosingASocketWhileItsConnectWaitsCancelsThePodsConnect()
    {
        var script = fixture.WriteFile("close-early.py", CloseEarlyScript);
        var closeNow = Path.Combine(fixture.WorkDirectory, "close-now");
        var exitNow = Path.Combine(fixture.WorkDirectory, "exit-now");
        File.Delete(closeNow);
        File.Delete(exitNow);
        try
        {
            await using var doppel = fixture.Start(["-t", Target, "--", ClusterFixture.Python, script, fixture.Backend.IP.ToString(), DroppedPort.ToString(), closeNow, exitNow]);
            Assert.Equal("pending", await doppel.ReadLineAsync(TimeSpan.FromSeconds(30)));
            Assert.True(await EventuallyAsync(async () => await PodSynSentCountAsync() == 1), "the agent's connect never showed in the pod");

            await File.WriteAllTextAsync(closeNow, "");
            Assert.Equal("closed", await doppel.ReadLineAsync(TimeSpan.FromSeconds(30)));

            Assert.True(await EventuallyAsync(async () => await PodSynSentCountAsync() == 0), "the agent's connect went on after the app closed its socket");
            await File.WriteAllTextAsync(exitNow, "");
            var result = await doppel.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(result.ExitCode == 0, result.ToString());
        }
        finally
        {
            File.Delete(closeNow);
            File.Delete(exitNow);
        }
    }

    /// <summary>
    /// The backend drops the first SYN of each connection to <paramref name="port"/> (a set of the
    /// source address and port seen): every connect there takes the SYN retry, ≈ 1 s, far longer
    /// than the app's first poll.
    /// </summary>
    private Task DropEachFirstSynAsync(int port) =>
        RunAsync(
            ["ip", "netns", "exec", fixture.Backend.NetworkNamespace, "nft", "-f", "-"],
            $$"""
            table inet {{FirstSynTable}} {
              set seen { type ipv4_addr . inet_service; flags dynamic, timeout; timeout 1m; }
              chain input {
                type filter hook input priority 0; policy accept;
                tcp dport {{port}} tcp flags syn ip saddr . tcp sport != @seen add @seen { ip saddr . tcp sport } drop
              }
            }
            """);

    /// <summary>Connects in SYN_SENT from the pod to the dropped port: the agent's attempts.</summary>
    private async Task<int> PodSynSentCountAsync()
    {
        var output = await RunAsync(["ip", "netns", "exec", fixture.Bff.NetworkNamespace, "ss", "-Htn", "state", "syn-sent", "dst", $"{fixture.Backend.IP}:{DroppedPort}"]);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
    }

    private static async Task<bool> EventuallyAsync(Func<Task<bool>> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }

    private static async Task<string> RunAsync(IReadOnlyList<string> command, string? stdin = null)
    {
        var info = new ProcessStartInfo(command[0])
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in command.Skip(1))
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{command[0]} could not be started.");
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{string.Join(' ', command)} failed ({process.ExitCode}): {await stderr}");
        }

        return await stdout;
    }
}
