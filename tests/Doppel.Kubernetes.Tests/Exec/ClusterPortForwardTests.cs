using System.Diagnostics;
using Doppel.Kubernetes.Tests.Cluster;
using Doppel.Kubernetes.Tests.Support;

namespace Doppel.Kubernetes.Tests.Exec;

/// <summary>
/// <c>doppel port-forward</c> against the real cluster: a local port forwarded to a Service by its
/// name, which only the pod's resolver knows, through the agent doppel places beside the target.
/// </summary>
[Collection(KubeCollection.Name)]
public sealed class ClusterPortForwardTests(KubeFixture fixture)
{
    private const int LocalPort = 18437;

    [Fact]
    public async Task ALocalPortReachesAServiceByNameThroughTheAgentUntilCtrlC()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await using var ns = await fixture.CreateNamespaceAsync("portfwd", timeout.Token);
        await ns.ApplyAsync(WebWorkload.Yaml, timeout.Token);
        var web = await ns.ReadyPodAsync("web", timeout.Token);

        var info = new ProcessStartInfo(RepoPaths.Doppel) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in (string[])["port-forward", "-t", "deployment/web", "-n", ns.Name, "-i", fixture.AgentImage, "-L", $"{LocalPort}:web:{WebWorkload.ServicePort}"])
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["KUBECONFIG"] = fixture.Cluster.Kubeconfig;
        using var doppel = Process.Start(info) ?? throw new InvalidOperationException("doppel could not be started.");
        var stderr = new System.Text.StringBuilder();
        var pump = Task.Run(async () =>
        {
            while (await doppel.StandardError.ReadLineAsync(CancellationToken.None) is { } line)
            {
                lock (stderr)
                {
                    stderr.AppendLine(line);
                }
            }
        });
        string SoFar()
        {
            lock (stderr)
            {
                return stderr.ToString();
            }
        }

        try
        {
            await Poll.UntilAsync(_ => Task.FromResult(SoFar().Contains("port-forward ready", StringComparison.Ordinal) || doppel.HasExited), "doppel port-forward ready", timeout.Token);
            Assert.False(doppel.HasExited, SoFar());

            using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });
            var body = await http.GetStringAsync(new Uri($"http://127.0.0.1:{LocalPort}/"), timeout.Token);
            Assert.Equal($"hello-from-{web.Name}\n", body);

            using (var kill = Process.Start("kill", ["-INT", doppel.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync(timeout.Token);
            }

            await doppel.WaitForExitAsync(timeout.Token);
            await pump;
            Assert.True(doppel.ExitCode == 0, $"exit code {doppel.ExitCode}\n{SoFar()}");
            Assert.Contains($"forwarding 127.0.0.1:{LocalPort} → web:{WebWorkload.ServicePort} from deployment/web", SoFar(), StringComparison.Ordinal);
            await Poll.UntilAsync(
                async ct => (await ns.KubectlAsync(["get", "jobs,pods", "-l", "app.kubernetes.io/managed-by=doppel", "-o", "name"], ct)).Trim().Length == 0,
                "doppel's agent Job and pod are gone",
                timeout.Token);
        }
        finally
        {
            if (!doppel.HasExited)
            {
                doppel.Kill(entireProcessTree: true);
            }
        }
    }
}
