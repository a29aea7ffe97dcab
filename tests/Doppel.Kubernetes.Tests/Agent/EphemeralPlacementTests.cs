using System.Text;
using Doppel.Config;
using Doppel.Config.Targets;
using Doppel.Kubernetes.Agents;
using Doppel.Kubernetes.Targets;
using Doppel.Kubernetes.Tests.Support;
using Xunit.Abstractions;
using Doppel.Protocol.V1;
using Doppel.Testing;
using Grpc.Core;
using Grpc.Net.Client;

namespace Doppel.Kubernetes.Tests.Agent;

/// <summary>
/// The agent as an ephemeral container in the target pod, on the real 1.20 cluster (its
/// <c>EphemeralContainers</c> shape of the subresource; the 1.22+ shape is in
/// <see cref="EphemeralPlacementRecordedTests"/>), with the real agent image.
/// </summary>
[Collection(KubeCollection.Name)]
public sealed class EphemeralPlacementTests(KubeFixture fixture, ITestOutputHelper output)
{
    private const string BoxYaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: box, namespace: NS, labels: {app: box}}
        spec:
          terminationGracePeriodSeconds: 1
          containers:
          - name: app
            image: doppel.local/busybox:1.35
            imagePullPolicy: Never
            command: ["sh", "-c", "echo only-in-the-target > /marker; exec httpd -f -p 8080"]
            env: [{name: BOX_SECRET, value: from-the-box-spec}]
            ports: [{containerPort: 8080}]
        """;

    [Fact]
    public async Task AnEphemeralAgentJoinsTheTargetContainerAndServesItsEnvironmentHostnameAndFilesThroughPortForward()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await using var ns = await fixture.CreateNamespaceAsync("eph", timeout.Token);
        await ns.ApplyAsync(BoxYaml, timeout.Token);
        var box = await ns.ReadyPodAsync("box", timeout.Token);
        using var connection = Connect(ns);
        var progress = new List<string>();

        var target = await new TargetResolver(connection).ResolveAsync(Box(ns), timeout.Token);
        Assert.Equal(EphemeralPlacement.ApiShape.EphemeralContainersObject, await new EphemeralPlacement(connection).ShapeAsync(timeout.Token));
        var workload = await new EphemeralPlacement(connection) { Progress = progress.Add }.PlaceAsync(target, AgentConfig(fixture.AgentImage), timeout.Token);

        Assert.Equal(new AgentWorkload(AgentWorkloadKind.EphemeralContainer, ns.Name, "box", workload.Container, workload.Port) { PodName = "box", Node = fixture.Cluster.NodeName }, workload);
        Assert.StartsWith(EphemeralPlacement.ContainerPrefix, workload.Container, StringComparison.Ordinal);
        Assert.NotEqual(8080, workload.Port);
        Assert.Equal($"starting agent in pod {ns.Name}/box (ephemeral container {workload.Container}, port {workload.Port})", Assert.Single(progress));
        Assert.Equal("running", await ns.KubectlAsync(["get", "pod", "box", "-o", $"jsonpath={{.status.ephemeralContainerStatuses[?(@.name==\"{workload.Container}\")].state.running}}"], timeout.Token) is { Length: > 0 } ? "running" : "not running");
        Assert.Equal("app", await ns.KubectlAsync(["get", "pod", "box", "-o", $"jsonpath={{.spec.ephemeralContainers[?(@.name==\"{workload.Container}\")].targetContainerName}}"], timeout.Token));

        await using var forward = await KubectlPortForward.StartAsync(fixture.Cluster, ns.Name, "box", workload.Port, timeout.Token);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{forward.LocalPort}");

        // Running is not listening yet: the first call may find the port closed for a moment.
        HelloResponse? hello = null;
        await Poll.UntilAsync(
            async ct =>
            {
                try
                {
                    hello = await new AgentService.AgentServiceClient(channel).HelloAsync(new HelloRequest { MinVersion = 1, MaxVersion = 1 }, cancellationToken: ct);
                    return true;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
                {
                    return false;
                }
            },
            "the ephemeral agent's Hello through the port-forward",
            timeout.Token);

        // The agent shares the target container's PID namespace: it found the container's process
        // by its ID in /proc/*/cgroup (PID 1 there), and reads its environment, hostname and files.
        Assert.Equal(box.ContainerId, hello!.Target.ContainerId);
        Assert.Equal(1, hello.Target.Pid);
        var hostname = await new HostnameService.HostnameServiceClient(channel).GetHostnameAsync(new GetHostnameRequest(), cancellationToken: timeout.Token);
        Assert.Equal("box", hostname.Hostname);
        var environment = await new EnvironmentService.EnvironmentServiceClient(channel).GetEnvironmentAsync(new GetEnvironmentRequest(), cancellationToken: timeout.Token);
        Assert.Contains(environment.Variables, v => v.Name == "BOX_SECRET" && v.Value == "from-the-box-spec");
        Assert.Equal("only-in-the-target\n", await ReadFileAsync(new FileService.FileServiceClient(channel), "/marker", timeout.Token));
    }

    [Fact]
    public async Task ADeveloperWhoMayNotPatchPodsEphemeralcontainersIsToldTheVerbAndTheCheck()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var ns = await fixture.CreateNamespaceAsync("eph", timeout.Token);
        await ns.ApplyAsync(BoxYaml, timeout.Token);
        await ns.ReadyPodAsync("box", timeout.Token);
        var kubeconfig = await ServiceAccountKubeconfig.ViewerAsync(ns, fixture, timeout.Token);
        try
        {
            using var connection = KubeConnection.Open(new KubeConnectionOptions { Kubeconfig = kubeconfig, Variables = _ => null });
            var target = await new TargetResolver(connection).ResolveAsync(Box(ns), timeout.Token);

            var error = await Assert.ThrowsAsync<KubeException>(() => new EphemeralPlacement(connection).PlaceAsync(target, AgentConfig(fixture.AgentImage), timeout.Token));

            Assert.Equal(
                $"The context 'doppel-test' is not allowed to patch pods/ephemeralcontainers in namespace {ns.Name}; check with `kubectl auth can-i patch pods --subresource=ephemeralcontainers -n {ns.Name}`.",
                error.Message);
            Assert.Empty(await ns.KubectlAsync(["get", "pod", "box", "-o", "jsonpath={.spec.ephemeralContainers}"], timeout.Token));
        }
        finally
        {
            File.Delete(kubeconfig);
        }
    }

    [Fact]
    public async Task AnAgentImageTheNodeCannotHaveIsNamedWithTheKubeletsReason()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var ns = await fixture.CreateNamespaceAsync("eph", timeout.Token);
        await ns.ApplyAsync(BoxYaml, timeout.Token);
        await ns.ReadyPodAsync("box", timeout.Token);
        using var connection = Connect(ns);
        var target = await new TargetResolver(connection).ResolveAsync(Box(ns), timeout.Token);

        var error = await Assert.ThrowsAsync<KubeException>(
            () => new EphemeralPlacement(connection).PlaceAsync(target, AgentConfig("doppel.local/doppel-agent:eph-absent"), timeout.Token));

        Assert.StartsWith(
            $"The agent image doppel.local/doppel-agent:eph-absent cannot be pulled for the pod {ns.Name}/box on node {fixture.Cluster.NodeName} (ErrImageNeverPull: ",
            error.Message,
            StringComparison.Ordinal);
        Assert.EndsWith(StaysSentence(error.Message), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAgentImageThatFailsToPullIsToldFromTheKubeletsEventWithoutWaitingForItsStatusAndTheContainerIsSaidToStay()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var ns = await fixture.CreateNamespaceAsync("eph", timeout.Token);
        await ns.ApplyAsync(BoxYaml, timeout.Token);
        await ns.ReadyPodAsync("box", timeout.Token);
        using var connection = Connect(ns);
        var target = await new TargetResolver(connection).ResolveAsync(Box(ns), timeout.Token);
        var config = AgentConfig("doppel.local/doppel-agent:eph-missing") with { ImagePullPolicy = "IfNotPresent" };

        // The node has no such image and cannot reach a registry (the cluster is sealed): the pull
        // fails at once. The kubelet's Failed event says so then; the container's status says
        // ErrImagePull only from the kubelet's next sync of the pod (syncFrequency, 10 s here).
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<KubeException>(() => new EphemeralPlacement(connection).PlaceAsync(target, config, timeout.Token));
        output.WriteLine($"told after {clock.Elapsed.TotalSeconds:0.0} s: {error.Message}");

        Assert.StartsWith(
            $"The agent image doppel.local/doppel-agent:eph-missing cannot be pulled for the pod {ns.Name}/box on node {fixture.Cluster.NodeName} (ErrImagePull: ",
            error.Message,
            StringComparison.Ordinal);
        Assert.Contains("doppel.local/doppel-agent:eph-missing", error.Message[error.Message.IndexOf('(', StringComparison.Ordinal)..], StringComparison.Ordinal);
        Assert.EndsWith(StaysSentence(error.Message), error.Message, StringComparison.Ordinal);
        var added = await ns.KubectlAsync(["get", "pod", "box", "-o", "jsonpath={.spec.ephemeralContainers[*].name}"], timeout.Token);
        Assert.Contains(added.Trim(), error.Message, StringComparison.Ordinal);
    }

    /// <summary>The end of an image failure's sentence: the fix, and the ephemeral container (named in it) that stays.</summary>
    private static string StaysSentence(string message)
    {
        var name = System.Text.RegularExpressions.Regex.Match(message, "The ephemeral container (doppel-agent-[0-9a-f]{6}) stays").Groups[1].Value;
        return $"set agent.image to an image that node can pull (docs/kubernetes.md, \"Agent image\"). The ephemeral container {name} stays in the pod's spec (Kubernetes cannot remove one) until the pod is replaced.";
    }

    private KubeConnection Connect(TestNamespace ns)
        => KubeConnection.Open(new KubeConnectionOptions { Kubeconfig = fixture.Cluster.Kubeconfig, Namespace = ns.Name, Variables = _ => null });

    private static AgentConfig AgentConfig(string image)
    {
        var colon = image.LastIndexOf(':');
        return new AgentConfig
        {
            Image = new AgentImageConfig { Registry = image[..colon], Tag = image[(colon + 1)..] },
            ImagePullPolicy = "Never",
            Ttl = 30,
            StartupTimeout = 90,
        };
    }

    private static TargetConfig Box(TestNamespace ns)
        => TargetParser.TryParse("pod/box", ns.Name, out var error) ?? throw new ArgumentException(error);

    private static async Task<string> ReadFileAsync(FileService.FileServiceClient files, string path, CancellationToken cancellationToken)
    {
        using var call = files.ReadFile(new ReadFileRequest { Path = path }, cancellationToken: cancellationToken);
        var data = new StringBuilder();
        await foreach (var message in call.ResponseStream.ReadAllAsync(cancellationToken))
        {
            Assert.Null(message.Error);
            data.Append(message.Data.ToStringUtf8());
        }

        return data.ToString();
    }
}
