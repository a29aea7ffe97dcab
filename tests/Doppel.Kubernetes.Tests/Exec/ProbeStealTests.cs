using System.Diagnostics;
using Doppel.Kubernetes.Tests.Support;

namespace Doppel.Kubernetes.Tests.Exec;

/// <summary>
/// A whole-port steal on the real cluster leaves the kubelet's HTTP probes to the pod's app (issue
/// P8): <c>doppel exec --steal</c> on a deployment whose readiness and liveness probes check the
/// stolen port every second (failureThreshold 1 and 2): for 20 s the pod stays Ready and is not
/// restarted, while a request from another pod reaches the developer's program (and one with the
/// kubelet's User-Agent the pod's app).
/// </summary>
[Collection(KubeCollection.Name)]
public sealed class ProbeStealTests(KubeFixture fixture)
{
    private const int Port = 8080;

    // busybox httpd on 8080, probed over HTTP by the kubelet; a client pod to send requests from.
    private static readonly string s_yaml = $$$"""
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: probed, namespace: NS}
        spec:
          replicas: 1
          selector: {matchLabels: {app: probed}}
          template:
            metadata: {labels: {app: probed}}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: web
                image: {{{Doppel.Testing.KubeCluster.BusyboxImage}}}
                imagePullPolicy: Never
                command: ["sh", "-c", "echo hello-from-the-pod > /var/www/index.html; exec httpd -f -p {{{Port}}} -h /var/www"]
                ports: [{name: http, containerPort: {{{Port}}}}]
                readinessProbe: {httpGet: {path: /index.html, port: http}, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 1}
                livenessProbe: {httpGet: {path: /index.html, port: {{{Port}}}}, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 2}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: client, namespace: NS}
        spec:
          replicas: 1
          selector: {matchLabels: {app: client}}
          template:
            metadata: {labels: {app: client}}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: client
                image: {{{Doppel.Testing.KubeCluster.BusyboxImage}}}
                imagePullPolicy: Never
                command: ["sleep", "3600"]
        """;

    // The developer's program: listens on 8080 (doppel steals the port whole for it), says so, and
    // answers every connection with "from-the-laptop" until a line comes on stdin.
    private const string Program = """
        import socket, sys, threading
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(('0.0.0.0', 8080))
        s.listen()
        def serve():
            while True:
                c, _ = s.accept()
                c.recv(65536)
                c.sendall(b'HTTP/1.0 200 OK\r\nContent-Length: 15\r\n\r\nfrom-the-laptop')
                c.close()
        threading.Thread(target=serve, daemon=True).start()
        print('listening', flush=True)
        sys.stdin.readline()
        """;

    [Fact]
    public async Task AWholePortStealLeavesTheKubeletsHttpProbesToTheAppSoThePodStaysReadyAndIsNotRestarted()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await using var ns = await fixture.CreateNamespaceAsync("probes", timeout.Token);
        await ns.ApplyAsync(s_yaml, timeout.Token);
        var (pod, ip, _) = await ns.ReadyPodAsync("probed", timeout.Token);
        var (client, _, _) = await ns.ReadyPodAsync("client", timeout.Token);

        // The developer's machine: a network namespace of its own (port 8080 free), the API server through a relay.
        var machine = "probes-dev-" + Guid.NewGuid().ToString("N")[..6];
        await Run.CheckedAsync(["ip", "netns", "add", machine], timeout.Token);
        await using var cleanup = new NetnsCleanup(machine);
        await Run.CheckedAsync(["ip", "-n", machine, "link", "set", "lo", "up"], timeout.Token);
        await using var relay = await ApiServerRelay.StartForAsync("/run/netns/" + machine, fixture.Cluster.Kubeconfig);
        using var doppel = Start(["netns", "exec", machine, RepoPaths.Doppel, "exec", "--steal", "-t", "deployment/probed", "-n", ns.Name, "-i", fixture.AgentImage, "--", "python3", "-c", Program]);
        var stderr = doppel.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            var line = await doppel.StandardOutput.ReadLineAsync(timeout.Token);
            Assert.True(line == "listening", $"the program did not start ('{line}')");

            // The subscription follows the program's listen asynchronously: wait until a request is stolen.
            await Poll.UntilAsync(
                async ct => (await GetAsync(ns, client, ip, null, ct)).Contains("from-the-laptop", StringComparison.Ordinal),
                "a request from the client pod stolen by the developer's program",
                timeout.Token);

            var watched = Stopwatch.StartNew();
            while (watched.Elapsed < TimeSpan.FromSeconds(20))
            {
                var state = await ns.KubectlAsync(["get", "pod", pod, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status} {.status.containerStatuses[0].restartCount}"], timeout.Token);
                Assert.True(state.Trim() == "True 0", $"after {watched.Elapsed.TotalSeconds:F0} s of the steal the pod is (Ready, restarts) {state}");
                await Task.Delay(1000, timeout.Token);
            }

            Assert.Contains("from-the-laptop", await GetAsync(ns, client, ip, null, timeout.Token), StringComparison.Ordinal);
            Assert.Contains("hello-from-the-pod", await GetAsync(ns, client, ip, "kube-probe/1.20", timeout.Token), StringComparison.Ordinal);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Stop(doppel);
            throw new Xunit.Sdk.XunitException($"{e.Message}\ndoppel: {await stderr.WaitAsync(TimeSpan.FromSeconds(30))}");
        }
        finally
        {
            Stop(doppel);
        }
    }

    /// <summary>
    /// The last line of the answer to one HTTP/1.0 GET of /index.html (with this User-Agent, if
    /// any) sent from the client pod with busybox nc (its wget crashes on this node); empty on failure.
    /// </summary>
    private static async Task<string> GetAsync(TestNamespace ns, string client, string ip, string? userAgent, CancellationToken cancellationToken)
    {
        var request = $"printf \"GET /index.html HTTP/1.0\\r\\n{(userAgent is null ? "" : $"User-Agent: {userAgent}\\r\\n")}\\r\\n\" | nc -w 5 {ip} {Port} | tail -n 1";
        try
        {
            return await ns.KubectlAsync(["exec", client, "--", "sh", "-c", request], cancellationToken);
        }
        catch (Doppel.Testing.KubeClusterException)
        {
            return string.Empty;
        }
    }

    /// <summary>Ends doppel: a line on its program's stdin, else (after 60 s) the process tree it is.</summary>
    private static void Stop(Process doppel)
    {
        if (doppel.HasExited)
        {
            return;
        }

        try
        {
            doppel.StandardInput.WriteLine("bye");
            doppel.StandardInput.Close();
        }
        catch (IOException)
        {
            // doppel has ended already: nothing to tell it.
        }

        if (!doppel.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            doppel.Kill(entireProcessTree: true);
        }
    }

    /// <summary>Starts <c>ip netns exec …</c> with the cluster's kubeconfig and USER=dev.</summary>
    private Process Start(IReadOnlyList<string> arguments)
    {
        var info = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["KUBECONFIG"] = fixture.Cluster.Kubeconfig;
        info.Environment["USER"] = "dev";
        return Process.Start(info) ?? throw new InvalidOperationException("doppel could not be started.");
    }
}
