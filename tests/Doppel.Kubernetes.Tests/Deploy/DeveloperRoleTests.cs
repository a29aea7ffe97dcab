using System.Net.WebSockets;
using System.Text;
using Doppel.Config;
using Doppel.Config.Targets;
using Doppel.Kubernetes.Agents;
using Doppel.Kubernetes.Targets;
using Doppel.Kubernetes.Tests.Agents;
using Doppel.Kubernetes.Tests.Cluster;
using Doppel.Kubernetes.Tests.Support;
using Doppel.Kubernetes.Tests.Targets;
using Doppel.Testing;
using k8s;
using k8s.Models;

namespace Doppel.Kubernetes.Tests.Deploy;

/// <summary>
/// deploy/doppel-developer-role.yaml and deploy/doppel-developer-clusterrole.yaml give a developer
/// exactly what doppel does (docs/kubernetes.md, "Permissions"): a ServiceAccount bound to them
/// may do each operation, for real, and nothing beyond.
/// </summary>
[Collection(KubeCollection.Name)]
public sealed class DeveloperRoleTests(KubeFixture fixture)
{
    /// <summary>What doppel does in a namespace, as <c>kubectl auth can-i</c> arguments.</summary>
    private static readonly string[] s_allowed =
    [
        "get pods", "list pods", "watch pods", "get services", "list services",
        "get deployments.apps", "list deployments.apps", "get statefulsets.apps", "list statefulsets.apps",
        "get replicasets.apps", "list replicasets.apps", "get cronjobs.batch", "list cronjobs.batch",
        "get jobs.batch", "list jobs.batch", "watch jobs.batch", "create jobs.batch", "delete jobs.batch",
        "create pods", "delete pods",
        "get pods --subresource=portforward", "create pods --subresource=portforward", "patch pods --subresource=ephemeralcontainers", "get pods --subresource=log",
        "list events",
        "get secrets", "create secrets", "patch secrets", "delete secrets",
    ];

    [Fact]
    public async Task AServiceAccountBoundToTheDeveloperRolesCanDoWhatDoppelDoesAndNoMore()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var ct = timeout.Token;
        await using var ns = await TargetsWorkload.CreateAsync(fixture, ct, prefix: "diag-role");
        var clusterRole = $"doppel-developer-namespaces-{ns.Name}";
        await fixture.Cluster.KubectlCheckedAsync(["apply", "-n", ns.Name, "-f", Path.Combine(RepoPaths.Root, "deploy", "doppel-developer-role.yaml")], ct);
        using var login = await ServiceAccountLogin.CreateAsync(fixture, ns, "developer", ct);
        await ns.KubectlAsync(["create", "rolebinding", "doppel-developer", "--role=doppel-developer", $"--serviceaccount={ns.Name}:developer"], ct);
        await fixture.Cluster.ApplyAsync(
            (await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "deploy", "doppel-developer-clusterrole.yaml"), ct))
                .Replace("name: doppel-developer-namespaces", "name: " + clusterRole, StringComparison.Ordinal),
            ct);
        try
        {
            await fixture.Cluster.KubectlCheckedAsync(["create", "clusterrolebinding", clusterRole, "--clusterrole=" + clusterRole, $"--serviceaccount={ns.Name}:developer"], ct);

            foreach (var check in s_allowed)
            {
                Assert.True("yes" == await login.CanIAsync(fixture, [.. check.Split(' '), "-n", ns.Name], ct), $"can-i {check} -n {ns.Name}");
            }

            Assert.Equal("yes", await login.CanIAsync(fixture, ["list", "namespaces"], ct));
            foreach (var check in new[]
                     {
                         "create pods --subresource=exec", "list secrets", "watch secrets", "update secrets", "update deployments.apps", "patch deployments.apps",
                         "delete deployments.apps", "patch pods", "update jobs.batch", "get configmaps", "create services",
                     })
            {
                Assert.True("no" == await login.CanIAsync(fixture, [.. check.Split(' '), "-n", ns.Name], ct), $"can-i {check} -n {ns.Name} must be no");
            }

            Assert.Equal("no", await login.CanIAsync(fixture, ["list", "pods", "-n", "kube-system"], ct));
            Assert.Equal("no", await login.CanIAsync(fixture, ["create", "jobs", "-n", "kube-system"], ct));
            Assert.Equal("no", await login.CanIAsync(fixture, ["get", "nodes"], ct));

            await DoesWhatDoppelDoesAsync(login, ns, ct);
        }
        finally
        {
            await fixture.Cluster.KubectlAsync(["delete", "clusterrolebinding", clusterRole, "--ignore-not-found"], CancellationToken.None);
            await fixture.Cluster.KubectlAsync(["delete", "clusterrole", clusterRole, "--ignore-not-found"], CancellationToken.None);
        }
    }

    /// <summary>The real requests, logged in as the developer: list, resolve, place, connect, read logs and events, tidy up.</summary>
    private static async Task DoesWhatDoppelDoesAsync(ServiceAccountLogin login, TestNamespace ns, CancellationToken ct)
    {
        using var connection = login.Open();
        var client = connection.Client;
        var lister = new TargetLister(connection);

        var paths = (await lister.ListAsync(ns.Name, ct)).SelectMany(t => t.Paths).ToList();
        Assert.Contains("deployment/web", paths);
        Assert.Contains("cronjob/nightly", paths);
        Assert.Contains(ns.Name, await lister.NamespacesAsync(ct));

        // Rollouts: kubectl cannot ask can-i about a kind the server does not serve, but the API
        // server authorizes before it routes: 404 (null) for a rollout, 403 for a kind not granted.
        Assert.Null(await KubeApi.GetGenericAsync(connection, "argoproj.io", "v1alpha1", "rollouts", ns.Name, "absent", ct));
        Assert.Empty(await KubeApi.ListGenericAsync(connection, "argoproj.io", "v1alpha1", "rollouts", ns.Name, ct));
        var analysis = await Assert.ThrowsAsync<KubeException>(() => KubeApi.GetGenericAsync(connection, "argoproj.io", "v1alpha1", "analysisruns", ns.Name, "absent", ct));
        Assert.Contains("not allowed to get analysisruns", analysis.Message, StringComparison.Ordinal);

        var resolver = new TargetResolver(connection);
        var web = await resolver.ResolveAsync(Parse("deployment/web", ns.Name), ct);
        foreach (var target in new[] { "statefulset/db", "replicaset/rs", "job/batch", "cronjob/nightly", "service/web", $"pod/{web.Pod}", "label/app=db" })
        {
            Assert.Equal(ns.Name, (await resolver.ResolveAsync(Parse(target, ns.Name), ct)).Namespace);
        }

        // The agent's Job (and its failure explained from its pod, events and log), then removed.
        var workload = await CreateJobAsync(connection, ns.Name, "doppel-agent-dev", "echo dev-agent-cannot-start; exit 5", ct);
        var sentence = await AgentJob.ExplanationAsync(connection, workload, ct);
        Assert.Contains("exited with code 5", sentence, StringComparison.Ordinal);
        Assert.Contains("dev-agent-cannot-start", sentence, StringComparison.Ordinal);
        await KubeApi.CallAsync(connection, "delete", "jobs", ns.Name,
            () => client.BatchV1.DeleteNamespacedJobAsync(workload.Name, ns.Name, propagationPolicy: "Background", cancellationToken: ct));
        Assert.Null(await KubeApi.CallAsync(connection, "get", "jobs", ns.Name, () => client.BatchV1.ReadNamespacedJobAsync(workload.Name, ns.Name, cancellationToken: ct)));

        // targetless: a plain pod, created and deleted.
        var pod = new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = "doppel-agent-targetless" },
            Spec = new V1PodSpec
            {
                TerminationGracePeriodSeconds = 0,
                Containers = [new V1Container { Name = AgentJob.Container, Image = KubeCluster.BusyboxImage, ImagePullPolicy = "Never", Command = ["sleep", "3600"] }],
            },
        };
        await KubeApi.CallAsync(connection, "create", "pods", ns.Name, () => client.CoreV1.CreateNamespacedPodAsync(pod, ns.Name, cancellationToken: ct));
        await KubeApi.CallAsync(connection, "delete", "pods", ns.Name, () => client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, ns.Name, cancellationToken: ct));

        // The agent's token Secret: created, made owned (patch), read by a joining session, deleted by the last.
        var secret = AgentPodSpecs.Secret(new AgentConfig(), ns.Name, "doppel-agent-token-check", AgentPodSpecs.NewToken());
        await KubeApi.CallAsync(connection, "create", "secrets", ns.Name, () => client.CoreV1.CreateNamespacedSecretAsync(secret, ns.Name, cancellationToken: ct));
        await KubeApi.CallAsync(connection, "patch", "secrets", ns.Name,
            () => client.CoreV1.PatchNamespacedSecretAsync(new V1Patch("""{"metadata":{"labels":{"checked":"yes"}}}""", V1Patch.PatchType.MergePatch), secret.Metadata.Name, ns.Name, cancellationToken: ct));
        Assert.Equal(secret.Data[AgentSharing.TokenSecretKey], (await new AgentPlacement(connection, new AgentConfig()).ReadTokenAsync(ns.Name, secret.Metadata.Name, ct)) is { } read ? Encoding.UTF8.GetBytes(read) : null);
        await KubeApi.CallAsync(connection, "delete", "secrets", ns.Name, () => client.CoreV1.DeleteNamespacedSecretAsync(secret.Metadata.Name, ns.Name, cancellationToken: ct));

        // -e: an ephemeral container added to the target pod (the 1.20 shape of the subresource).
        var patch = $$"""{"ephemeralContainers":[{"name":"doppel-agent","image":"{{KubeCluster.BusyboxImage}}","imagePullPolicy":"Never","command":["sleep","3600"],"terminationMessagePolicy":"File"}]}""";
        await KubeApi.CallAsync(connection, "patch", "pods/ephemeralcontainers", ns.Name,
            () => client.CoreV1.PatchNamespacedPodEphemeralcontainersAsync(new V1Patch(patch, V1Patch.PatchType.StrategicMergePatch), web.Pod, ns.Name, cancellationToken: ct));
        var patched = await KubeApi.CallAsync(connection, "get", "pods", ns.Name, () => client.CoreV1.ReadNamespacedPodAsync(web.Pod, ns.Name, cancellationToken: ct));
        Assert.Contains(patched!.Spec.EphemeralContainers ?? [], c => c.Name == "doppel-agent");

        // The connection: a request to the target's port through the API server's port-forward.
        Assert.Contains("hello-from-" + web.Pod, await ThroughPortForwardAsync(client, ns.Name, web.Pod, WebWorkload.ContainerPort, ct), StringComparison.Ordinal);

        // Logs and events.
        await using var log = await KubeApi.CallAsync(connection, "get", "pods/log", ns.Name,
            () => client.CoreV1.ReadNamespacedPodLogAsync(web.Pod, ns.Name, container: web.Container, cancellationToken: ct));
        Assert.NotNull(log);
        var events = await KubeApi.CallAsync(connection, "list", "events", ns.Name, () => client.CoreV1.ListNamespacedEventAsync(ns.Name, cancellationToken: ct));
        Assert.Contains(events!.Items, e => e.Reason == "Scheduled");
    }

    private static async Task<AgentWorkload> CreateJobAsync(KubeConnection connection, string ns, string name, string command, CancellationToken ct)
    {
        var job = new V1Job
        {
            Metadata = new V1ObjectMeta { Name = name },
            Spec = new V1JobSpec
            {
                BackoffLimit = 0,
                TtlSecondsAfterFinished = 60,
                Template = new V1PodTemplateSpec
                {
                    Spec = new V1PodSpec
                    {
                        RestartPolicy = "Never",
                        TerminationGracePeriodSeconds = 0,
                        Containers = [new V1Container { Name = AgentJob.Container, Image = KubeCluster.BusyboxImage, ImagePullPolicy = "Never", Command = ["sh", "-c", command] }],
                    },
                },
            },
        };
        await KubeApi.CallAsync(connection, "create", "jobs", ns, () => connection.Client.BatchV1.CreateNamespacedJobAsync(job, ns, cancellationToken: ct));
        return new AgentWorkload(AgentWorkloadKind.Job, ns, name, AgentJob.Container, AgentJob.Port);
    }

    /// <summary>
    /// GET / over the port-forward protocol v4: every binary message starts with its channel
    /// (0 data, 1 errors; the first message of each carries the port), the answer is the data
    /// channel's bytes until the pod's server closes.
    /// </summary>
    private static async Task<string> ThroughPortForwardAsync(IKubernetes client, string ns, string pod, int port, CancellationToken ct)
    {
        using var socket = await client.WebSocketNamespacedPodPortForwardAsync(pod, ns, [port], "v4.channel.k8s.io", cancellationToken: ct);
        await socket.SendAsync((byte[])[0, .. "GET / HTTP/1.0\r\n\r\n"u8], WebSocketMessageType.Binary, endOfMessage: true, ct);
        var answer = new StringBuilder();
        var buffer = new byte[16 * 1024];
        var channel = -1;
        while (!answer.ToString().Contains("</html>", StringComparison.Ordinal) && !answer.ToString().Contains("hello-from-", StringComparison.Ordinal))
        {
            var received = await socket.ReceiveAsync(buffer, ct);
            if (received.MessageType == WebSocketMessageType.Close)
            {
                break;
            }

            var start = 0;
            if (channel < 0 && received.Count > 0)
            {
                channel = buffer[0];
                start = 1;
            }

            if (channel == 0)
            {
                answer.Append(Encoding.ASCII.GetString(buffer, start, received.Count - start));
            }

            if (received.EndOfMessage)
            {
                channel = -1;
            }
        }

        return answer.ToString();
    }

    private static TargetConfig Parse(string target, string ns)
        => TargetParser.TryParse(target, ns, out var error) ?? throw new ArgumentException(error, nameof(target));
}
