using System.Diagnostics;
using System.Net;
using Doppel.Interception.Policy;
using Doppel.Interception.Tests.Support;

namespace Doppel.Interception.Tests.Programs;

/// <summary>
/// A static Go binary (CGO_ENABLED=0) makes raw syscalls with no libc, so LD_PRELOAD-style
/// interception cannot see it; seccomp does. Needs the golang package.
/// </summary>
public sealed class StaticGoBinaryTests : IClassFixture<StaticGoBinaryTests.GoProgram>
{
    private const string Source = """
        package main

        import (
            "fmt"
            "io"
            "net"
            "net/http"
            "os"
            "runtime"
            "sort"
            "sync"
            "sync/atomic"
        )

        // Many goroutines making trapped calls while spinning goroutines force async preemption
        // (SIGURG) and the GC runs: signals keep landing on threads stopped in trapped syscalls.
        func stress(dir string) {
            var wg sync.WaitGroup
            var failures int64
            stop := make(chan struct{})
            for i := 0; i < 2; i++ {
                go func() { x := 0; for { select { case <-stop: return; default: x++ } } }()
            }
            for g := 0; g < 8; g++ {
                wg.Add(1)
                go func(g int) {
                    defer wg.Done()
                    for i := 0; i < 300; i++ {
                        name := fmt.Sprintf("%s/f%d", dir, (g+i)%4)
                        data, err := os.ReadFile(name)
                        if err != nil || string(data) != fmt.Sprintf("content-%d", (g+i)%4) { atomic.AddInt64(&failures, 1) }
                        if _, err := os.Stat(name); err != nil { atomic.AddInt64(&failures, 1) }
                        if i%50 == 0 { runtime.GC() }
                    }
                }(g)
            }
            wg.Wait()
            close(stop)
            fmt.Printf("stress failures=%d\n", failures)
        }

        func main() {
            if os.Args[1] == "-stress" { stress(os.Args[2]); return }
            dir := os.Args[1]
            data, err := os.ReadFile(dir + "/config.txt")
            if err != nil { fmt.Println("read:", err); os.Exit(2) }
            fmt.Printf("file=%s\n", data)
            info, err := os.Stat(dir + "/config.txt")
            if err != nil { fmt.Println("stat:", err); os.Exit(2) }
            fmt.Printf("size=%d mode=%o\n", info.Size(), info.Mode().Perm())
            entries, err := os.ReadDir(dir)
            if err != nil { fmt.Println("readdir:", err); os.Exit(2) }
            names := []string{}
            for _, e := range entries { names = append(names, e.Name()) }
            sort.Strings(names)
            fmt.Println("dir=", names)
            resp, err := http.Get(os.Args[2])
            if err != nil { fmt.Println("get:", err); os.Exit(3) }
            body, _ := io.ReadAll(resp.Body)
            fmt.Printf("http=%d %s", resp.StatusCode, body)
            if len(os.Args) > 3 {
                addrs, err := net.LookupHost(os.Args[3])
                if err != nil { fmt.Println("lookup:", err); os.Exit(4) }
                fmt.Println("dns=", addrs)
            }
        }
        """;

    private readonly GoProgram _program;

    public StaticGoBinaryTests(GoProgram program) => _program = program;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task StaticGoBinaryReadsRemoteFilesReachesARemoteServiceAndResolvesWithThePureGoResolver(bool resolve)
    {
        using var fs = new RemoteFileSystem();
        fs.Write("app/config.txt", "from-the-pod", UnixFileMode.UserRead | UnixFileMode.UserWrite);
        fs.Write("app/other", "x");
        Directory.CreateDirectory(fs.Root + "/etc");
        await File.WriteAllTextAsync(fs.Root + "/etc/resolv.conf", "nameserver 192.0.2.53\noptions timeout:2 attempts:1\n");
        using var server = new Holder<LoopbackHttpServer>();
        using var dns = new Holder<LoopbackUdpService>();
        var destination = new IPEndPoint(IPAddress.Parse("192.0.2.20"), 8080);
        var dnsAddress = new IPEndPoint(IPAddress.Parse("192.0.2.53"), 53);
        var policy = fs.Policy(SyscallFamilies.FilesRead | SyscallFamilies.Outgoing | SyscallFamilies.OutgoingUdp) with
        {
            RemotePrefixes = [fs.Prefix, "/etc/resolv.conf"],
            RemoteAddresses = new HashSet<IPAddress> { destination.Address, dnsAddress.Address },
        };
        string[] arguments = resolve
            ? [fs.Prefix + "/app", "http://192.0.2.20:8080/go", "db.svc.cluster.local"]
            : [fs.Prefix + "/app", "http://192.0.2.20:8080/go"];

        var result = await Run.IsolatedAsync(
            Run.Options(_program.Path, arguments),
            policy,
            fs.Remote,
            setup: () =>
            {
                server.Value = new LoopbackHttpServer("hello go\n");
                fs.Remote.AddService(destination, server.Value.EndPoint);
                dns.Value = LoopbackUdpService.Dns(new Dictionary<string, IPAddress> { ["db.svc.cluster.local"] = IPAddress.Parse("10.1.2.3") });
                fs.Remote.AddUdpService(dnsAddress, dns.Value.EndPoint);
            });

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(
            "file=from-the-pod\nsize=12 mode=600\ndir= [config.txt other]\nhttp=200 hello go\n" + (resolve ? "dns= [10.1.2.3]\n" : ""),
            result.Stdout);
    }

    [Fact]
    public async Task GoRoutinesPreemptedBySignalsDuringTrappedCallsAllGetCorrectAnswers()
    {
        using var fs = new RemoteFileSystem();
        for (var i = 0; i < 4; i++)
        {
            fs.Write($"s/f{i}", $"content-{i}");
        }

        var result = await Run.IsolatedAsync(Run.Options(_program.Path, "-stress", fs.Prefix + "/s"), fs.Policy(), fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("stress failures=0\n", result.Stdout);
    }

    public sealed class GoProgram : IDisposable
    {
        private readonly string _directory = Directory.CreateTempSubdirectory("doppel-go-").FullName;

        public GoProgram()
        {
            File.WriteAllText(System.IO.Path.Combine(_directory, "main.go"), Source);
            var build = new ProcessStartInfo("go", "build -o app main.go")
            {
                WorkingDirectory = _directory,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            build.Environment["CGO_ENABLED"] = "0";
            build.Environment["GOCACHE"] = System.IO.Path.Combine(_directory, "cache");
            build.Environment["GOPATH"] = System.IO.Path.Combine(_directory, "gopath");
            build.Environment["GO111MODULE"] = "off";
            using var go = Process.Start(build) ?? throw new InvalidOperationException("go did not start; install the golang package.");
            var errors = go.StandardError.ReadToEnd();
            go.WaitForExit();
            if (go.ExitCode != 0)
            {
                throw new InvalidOperationException("go build failed: " + errors);
            }

            Path = System.IO.Path.Combine(_directory, "app");
        }

        public string Path { get; }

        public void Dispose() => Directory.Delete(_directory, recursive: true);
    }
}
