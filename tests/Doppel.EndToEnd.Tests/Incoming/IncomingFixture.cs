using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Doppel.EndToEnd.Tests.Support;
using Doppel.Linux.Namespaces;
using Doppel.Testing;

namespace Doppel.EndToEnd.Tests.Incoming;

/// <summary>
/// A mini-cluster of its own for one incoming test class (started once per class):
/// <code>
///   developer netns PREFIX-dev  (alice's laptop)    pod network 10.244.0.0/24
///   developer netns PREFIX-dev2 (bob's laptop)      ┌────────────────────────────────────────┐
///   ┌──────────────────────────────────────┐        │ web:    IncomingApp "pod" on :80       │
///   │ doppel exec -t pid/WEB -- node app 80├─agent─►│ client: curl, the tests' sockets       │
///   └──────────────────────────────────────┘        └────────────────────────────────────────┘
/// </code>
/// Each developer namespace has loopback only, so both local apps can listen on port 80 as the
/// pod's app does; both sessions share one agent (one per target).
/// </summary>
public sealed class IncomingFixture : IAsyncLifetime
{
    /// <summary>The port of the pod's app (and of each local app).</summary>
    public const int Port = 80;

    private MiniCluster? _cluster;
    private string? _secondDeveloper;

    public MiniCluster Cluster => _cluster ?? throw new InvalidOperationException("The mini-cluster did not start.");

    /// <summary>The target: a process pod whose app is <see cref="IncomingApp"/> named "pod".</summary>
    public Pod Web => Cluster["web"];

    /// <summary>The pod the tests' clients run in (curl; sockets made in its namespace).</summary>
    public Pod Client => Cluster["client"];

    /// <summary>Alice's machine: the cluster's developer namespace.</summary>
    public string AliceNamespace => Cluster.Developer.Name;

    /// <summary>Bob's machine: a second developer namespace (loopback only) this fixture made.</summary>
    public string BobNamespace => _secondDeveloper ?? throw new InvalidOperationException("The second developer namespace was not made.");

    /// <summary>A directory under /tmp for the app and configs; doppel's working directory.</summary>
    public string WorkDirectory { get; } = Directory.CreateTempSubdirectory("doppel-e2e-incoming-").FullName;

    public string AppScript => Path.Combine(WorkDirectory, "app.js");

    /// <summary>http://WEB-IP (the pod's address as the client pod reaches it).</summary>
    public string WebUrl => $"http://{Web.IP}";

    public static string Node { get; } = new[] { "/usr/bin/node", "/usr/local/bin/node" }.FirstOrDefault(File.Exists) ?? "node";

    /// <summary>The seed configuration of the multi-developer scenario (header filter on X-Dev-User templated on USER).</summary>
    public static string SeedConfig { get; } = Path.Combine(RepoPaths.Root, "tests", "Doppel.Config.Tests", "Examples", "seed-multi-developer.json");

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await File.WriteAllTextAsync(AppScript, IncomingApp.Script, timeout.Token);
        _cluster = await MiniCluster.StartAsync(
            new MiniClusterOptions
            {
                Pods =
                {
                    new PodSpec("web") { Servers = { PodServer.Run("app", [Node, AppScript, "pod", Port.ToString(System.Globalization.CultureInfo.InvariantCulture)], Port) } },
                    new PodSpec("client"),
                },
            },
            timeout.Token);

        // Named after the cluster, so the harness's orphan clean-up removes it with the cluster's.
        var name = $"{Cluster.Prefix}-dev2";
        await RunAsync(["ip", "netns", "add", name], timeout.Token);
        _secondDeveloper = name;
        await RunAsync(["ip", "-n", name, "link", "set", "lo", "up"], timeout.Token);
    }

    public async Task DisposeAsync()
    {
        var failures = new List<string>();
        if (_secondDeveloper is not null)
        {
            try
            {
                await RunAsync(["ip", "netns", "delete", _secondDeveloper], CancellationToken.None);
            }
            catch (InvalidOperationException e)
            {
                failures.Add(e.Message);
            }
        }

        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
            failures.AddRange(_cluster.CleanupFailures);
        }

        Directory.Delete(WorkDirectory, recursive: true);
        Assert.Empty(failures);
    }

    /// <summary>Writes a configuration file into the work directory and returns its path.</summary>
    public string WriteConfig(string name, string json)
    {
        var path = Path.Combine(WorkDirectory, name);
        File.WriteAllText(path, json);
        return path;
    }

    /// <summary>
    /// Starts <c>doppel exec -f CONFIG -t pid/WEB -- node app.js NAME 80</c> as <paramref name="user"/>
    /// (USER) in the developer namespace <paramref name="developerNamespace"/>, and waits for the
    /// app's "listening" line.
    /// </summary>
    public async Task<DoppelExecProcess> StartAppAsync(string user, string developerNamespace, string config, params string[] extraArguments)
    {
        var doppel = DoppelExecProcess.Start(
            RepoPaths.Doppel,
            developerNamespace,
            ["-v", "-f", config, "-t", $"pid/{Web.Pid}", .. extraArguments, "--", Node, AppScript, user, Port.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            WorkDirectory,
            new Dictionary<string, string?> { ["USER"] = user });
        string? line;
        try
        {
            line = await doppel.ReadLineAsync(TimeSpan.FromSeconds(120)); // node and doppel start slowly while other suites load both CPUs
        }
        catch
        {
            await doppel.DisposeAsync();
            throw;
        }

        if (line != "listening")
        {
            // doppel ended (or said something else) first: its stderr says why.
            DoppelExecResult result;
            await using (doppel)
            {
                result = await doppel.WaitAsync(TimeSpan.FromSeconds(10));
            }

            Assert.Fail($"{user}'s app did not say 'listening' (first line: '{line}'): {result}");
        }

        return doppel;
    }

    /// <summary>
    /// Sends curl requests (<paramref name="curlArguments"/>, the last one the URL) from the client
    /// pod until one reaches <paramref name="app"/> (the subscription follows the app's listen
    /// asynchronously); fails after 30 s with the last answer.
    /// </summary>
    public async Task WaitUntilRoutedAsync(string app, params string[] curlArguments)
    {
        var limit = Stopwatch.StartNew();
        while (true)
        {
            var result = await CurlAsync(curlArguments);
            if (result.StandardOutput.StartsWith(app + " ", StringComparison.Ordinal))
            {
                return;
            }

            Assert.True(limit.Elapsed < TimeSpan.FromSeconds(30), $"curl {string.Join(' ', curlArguments)} never reached {app}; last answer: {result.StandardOutput}{result.StandardError}");
            await Task.Delay(100);
        }
    }

    /// <summary>Runs curl (<c>-sS -m 20</c> and <paramref name="arguments"/>) in the client pod.</summary>
    public Task<ExecResult> CurlAsync(IReadOnlyList<string> arguments)
        => Client.ExecInNetworkAsync(["curl", "-sS", "-m", "20", .. arguments], CancellationToken.None);

    /// <summary>A TCP connection from the client pod's namespace to the web pod's app port.</summary>
    public async Task<Socket> ConnectFromClientPodAsync(CancellationToken cancellationToken)
    {
        using var thread = NetworkNamespaceThread.Start(Client.NetworkNamespacePath, "test-client");
        var socket = await thread.RunAsync(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true });
        try
        {
            await socket.ConnectAsync(new IPEndPoint(Web.IP, Port), cancellationToken);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// An HttpClient that opens at most one connection (from the client pod), speaking
    /// <paramref name="version"/> exactly (2.0: h2c with prior knowledge); <paramref name="connects"/> counts its connections.
    /// </summary>
    public HttpClient OneConnectionClient(Version version, out ConnectCounter connects)
    {
        var counter = connects = new ConnectCounter();
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            MaxConnectionsPerServer = 1,
            EnableMultipleHttp2Connections = false,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            ConnectCallback = async (context, cancellationToken) =>
            {
                counter.Add();
                return new NetworkStream(await ConnectFromClientPodAsync(cancellationToken), ownsSocket: true);
            },
        };
        return new HttpClient(handler)
        {
            BaseAddress = new Uri(WebUrl),
            DefaultRequestVersion = version,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(60),
        };
    }

    private static async Task RunAsync(IReadOnlyList<string> command, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(command[0]) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in command.Skip(1))
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{command[0]} could not be started.");
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{string.Join(' ', command)} failed with exit code {process.ExitCode}: {await stderr}");
        }
    }
}

/// <summary>A count shared with a connect callback.</summary>
public sealed class ConnectCounter
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    internal void Add() => Interlocked.Increment(ref _count);
}
