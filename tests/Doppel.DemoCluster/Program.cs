using System.Runtime.InteropServices;
using Doppel.Testing;

// Starts the demo's mini-cluster, prints what scripts/demo.sh needs as KEY=VALUE lines on stdout
// (then "ready"), and keeps it up until stdin closes or SIGTERM/SIGINT arrives; then tears it down.
// Progress goes to stderr.
//
//  developer netns (lo only)              pod network 10.244.0.0/24
//  ┌────────────────────────────────┐     ┌───────────────────────────────────────────────┐
//  │ doppel exec -t pid/BFF -- app  │────►│ bff (runc container): DATABASE_URL,           │
//  │   └ doppel-agent (setns)       │     │   /app/config.json                            │
//  └────────────────────────────────┘     │ backend: HTTP :80 = backend.default.svc...    │
//                                         │ kube-dns: dnsmasq 10.244.0.2                  │
//                                         └───────────────────────────────────────────────┘
const string DatabaseUrl = "postgres://orders:secret@db.default.svc.cluster.local:5432/orders";
const string ConfigJson = "{\n  \"service\": \"bff\",\n  \"featureFlags\": { \"newCheckout\": true }\n}\n";
const string BackendBody = "hello from backend: pod backend, namespace default, answering inside the cluster\n";

using var stop = new CancellationTokenSource();
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);

var options = new MiniClusterOptions
{
    Pods =
    {
        new PodSpec("bff")
        {
            Runtime = PodRuntime.Container,
            Env = { ["DATABASE_URL"] = DatabaseUrl },
            Files = { ["/app/config.json"] = ConfigJson },
        },
        new PodSpec("backend") { Servers = { PodServer.Http(80, BackendBody) } },
    },
    Log = message => Console.Error.WriteLine($"demo-cluster: {message}"),
};

MiniCluster cluster;
try
{
    using var startTimeout = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
    startTimeout.CancelAfter(TimeSpan.FromMinutes(2));
    cluster = await MiniCluster.StartAsync(options, startTimeout.Token);
}
catch (Exception e) when (e is MiniClusterException or OperationCanceledException)
{
    Console.Error.WriteLine($"demo-cluster: the cluster did not start: {e.Message}");
    return 1;
}

await using (cluster)
{
    var bff = cluster["bff"];
    Console.WriteLine($"bff-pid={bff.Pid}");
    Console.WriteLine($"bff-container={bff.ContainerId}");
    Console.WriteLine($"bff-netns={bff.NetworkNamespace}");
    Console.WriteLine($"backend-ip={cluster["backend"].IP}");
    Console.WriteLine($"backend-pid={cluster["backend"].Pid}");
    Console.WriteLine($"developer-netns={cluster.Developer.Name}");
    Console.WriteLine("ready");
    Console.Out.Flush();

    // stdin's end (the script's pipe closing, also when the script itself dies) stops us too.
    var stdinClosed = Task.Run(async () =>
    {
        using var stdin = Console.OpenStandardInput();
        var buffer = new byte[256];
        while (await stdin.ReadAsync(buffer, stop.Token) > 0)
        {
        }
    });
    try
    {
        await Task.WhenAny(stdinClosed, Task.Delay(Timeout.Infinite, stop.Token));
    }
    catch (OperationCanceledException)
    {
    }

    Console.Error.WriteLine("demo-cluster: tearing down");
}

Console.Error.WriteLine(cluster.CleanupFailures.Count == 0
    ? "demo-cluster: everything removed"
    : $"demo-cluster: could not remove: {string.Join("; ", cluster.CleanupFailures)}");
return cluster.CleanupFailures.Count == 0 ? 0 : 1;

void Stop(PosixSignalContext context)
{
    context.Cancel = true; // we exit ourselves, after the teardown
    stop.Cancel();
}
