using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Doppel.EndToEnd.Tests.Incoming;
using Doppel.EndToEnd.Tests.Support;
using Doppel.Linux.Namespaces;
using Doppel.Testing;

namespace Doppel.EndToEnd.Tests.PortForward;

/// <summary>
/// A mini-cluster of its own for <c>doppel port-forward</c>:
/// <code>
///   developer netns (lo only)                          pod network 10.244.0.0/24
///   ┌───────────────────────────────────────────┐      ┌─────────────────────────────────────────────┐
///   │ doppel port-forward -t pid/WEB -L … -R …  ├agent►│ web:     IncomingApp "pod" on :80 (target)  │
///   │ test's sockets and curl ─► 127.0.0.1:L    │      │ backend: HTTP :80, TCP echo :7070           │
///   │ IncomingApp "carol" on 127.0.0.1:9000     │      │ client:  curl (the -R tests' requests)      │
///   └───────────────────────────────────────────┘      └─────────────────────────────────────────────┘
/// </code>
/// The developer namespace has no route to the pods: whatever reaches them went through the agent.
/// </summary>
public sealed class PortForwardFixture : IAsyncLifetime
{
    public const string BackendBody = "hello from backend\n";
    public const int EchoPort = 7070;

    /// <summary>Where the -R tests' local app listens in the developer namespace.</summary>
    public const int LocalAppPort = 9000;

    private MiniCluster? _cluster;

    public MiniCluster Cluster => _cluster ?? throw new InvalidOperationException("The mini-cluster did not start.");

    public Pod Web => Cluster["web"];

    public Pod Backend => Cluster["backend"];

    public Pod Client => Cluster["client"];

    public string WorkDirectory { get; } = Directory.CreateTempSubdirectory("doppel-e2e-pf-").FullName;

    private string AppScript => Path.Combine(WorkDirectory, "app.js");

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await File.WriteAllTextAsync(AppScript, IncomingApp.Script, timeout.Token);
        _cluster = await MiniCluster.StartAsync(
            new MiniClusterOptions
            {
                Pods =
                {
                    new PodSpec("web") { Servers = { PodServer.Run("app", [IncomingFixture.Node, AppScript, "pod", "80"], 80) } },
                    new PodSpec("backend") { Servers = { PodServer.Http(80, BackendBody), PodServer.TcpEcho(EchoPort) } },
                    new PodSpec("client"),
                },
            },
            timeout.Token);
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        Directory.Delete(WorkDirectory, recursive: true);
        Assert.Empty(_cluster?.CleanupFailures ?? []);
    }

    public string WriteConfig(string name, string json)
    {
        var path = Path.Combine(WorkDirectory, name);
        File.WriteAllText(path, json);
        return path;
    }

    /// <summary>Starts <c>doppel port-forward ARGS</c> in the developer namespace (not waiting for anything).</summary>
    public DoppelExecProcess Start(IReadOnlyList<string> args)
        => DoppelExecProcess.Start(RepoPaths.Doppel, Cluster.Developer.Name, args, WorkDirectory, subcommand: "port-forward");

    /// <summary>Starts <c>doppel port-forward -t pid/WEB ARGS</c> and waits for its "port-forward ready" line.</summary>
    public async Task<DoppelExecProcess> StartReadyAsync(params string[] args)
    {
        var doppel = Start(["-t", $"pid/{Web.Pid}", .. args]);
        try
        {
            await WaitForStderrAsync(doppel, "port-forward ready; Ctrl+C stops it.");
            return doppel;
        }
        catch
        {
            await doppel.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits until doppel's stderr has <paramref name="text"/>; fails after 60 s with what it wrote.</summary>
    public static async Task WaitForStderrAsync(DoppelExecProcess doppel, string text)
    {
        var limit = Stopwatch.StartNew();
        while (!doppel.SoFar.Stderr.Contains(text, StringComparison.Ordinal))
        {
            Assert.True(limit.Elapsed < TimeSpan.FromSeconds(60), $"doppel port-forward never said '{text}'; so far: {doppel.SoFar}");
            await Task.Delay(100);
        }
    }

    /// <summary>Ends doppel as Ctrl+C does (SIGINT to its PID) and returns how it ended.</summary>
    public static async Task<DoppelExecResult> InterruptAsync(DoppelExecProcess doppel)
    {
        using (var kill = Process.Start("kill", ["-INT", doppel.Pid.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        return await doppel.WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>curl (<c>-sS -m 20</c>) in the developer namespace.</summary>
    public Task<ExecResult> LocalCurlAsync(params string[] arguments)
        => Cluster.Developer.ExecAsync(["curl", "-sS", "-m", "20", .. arguments], CancellationToken.None);

    /// <summary>curl (<c>-sS -m 20</c>) in the client pod.</summary>
    public Task<ExecResult> PodCurlAsync(params string[] arguments)
        => Client.ExecInNetworkAsync(["curl", "-sS", "-m", "20", .. arguments], CancellationToken.None);

    /// <summary>A TCP connection from the developer namespace to 127.0.0.1:<paramref name="port"/>.</summary>
    public async Task<Socket> ConnectLocallyAsync(int port)
    {
        using var thread = NetworkNamespaceThread.Start(Cluster.Developer.Path, "pf-client");
        var socket = await thread.RunAsync(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true });
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Starts IncomingApp named <paramref name="name"/> on 127.0.0.1:<see cref="LocalAppPort"/> in the developer namespace; waits for "listening".</summary>
    public async Task<LocalApp> StartLocalAppAsync(string name)
    {
        var info = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in Cluster.Developer.Wrap(IncomingFixture.Node, AppScript, name, LocalAppPort.ToString(CultureInfo.InvariantCulture)).Skip(1))
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("the local app could not be started.");
        var app = new LocalApp(process);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        Assert.Equal("listening", await process.StandardOutput.ReadLineAsync(timeout.Token));
        return app;
    }

    /// <summary>The developer's app (node); disposing kills it by PID.</summary>
    public sealed class LocalApp(Process process) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            if (!process.HasExited)
            {
                process.Kill();
                await process.WaitForExitAsync();
            }

            process.Dispose();
        }
    }
}
