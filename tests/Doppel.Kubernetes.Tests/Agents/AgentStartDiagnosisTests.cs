using Doppel.Kubernetes.Agents;
using Doppel.Kubernetes.Tests.Support;
using Doppel.Testing;
using k8s;
using k8s.Models;
using Xunit.Abstractions;

namespace Doppel.Kubernetes.Tests.Agents;

/// <summary>
/// Each way an agent fails to start, made for real in the test cluster, gives its sentence
/// (docs/kubernetes.md, "When the agent does not start"): the key facts are asserted (image,
/// reason, verb/resource/namespace, the can-i line), not whole strings.
/// </summary>
[Collection(KubeCollection.Name)]
public sealed class AgentStartDiagnosisTests(KubeFixture fixture, ITestOutputHelper output)
{
    /// <summary>An image reference on an address of the test's own discard link: nothing to pull, nothing leaves the machine.</summary>
    private const string DiscardPrefix = "198.18.77";

    [Fact]
    public async Task CreatingAJobOrOpeningAPortForwardWithoutTheRightNamesTheVerbResourceNamespaceAndTheCanILine()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = timeout.Token;
        await using var ns = await fixture.CreateNamespaceAsync("diag-rbac", ct);
        await ns.KubectlAsync(["run", "target", "--image", KubeCluster.BusyboxImage, "--image-pull-policy=Never", "--restart=Never", "--", "sleep", "3600"], ct);
        using var login = await ServiceAccountLogin.CreateAsync(fixture, ns, "viewer", ct);
        await ns.KubectlAsync(["create", "rolebinding", "viewer", "--clusterrole=view", $"--serviceaccount={ns.Name}:viewer"], ct);
        using var connection = login.Open();
        var client = connection.Client;

        var job = new V1Job
        {
            Metadata = new V1ObjectMeta { Name = "doppel-agent-x" },
            Spec = new V1JobSpec { Template = new V1PodTemplateSpec { Spec = new V1PodSpec { RestartPolicy = "Never", Containers = [new V1Container { Name = "a", Image = KubeCluster.BusyboxImage }] } } },
        };
        var create = await Assert.ThrowsAsync<KubeException>(() => KubeApi.CallAsync(connection, "create", "jobs", ns.Name, () => client.BatchV1.CreateNamespacedJobAsync(job, ns.Name, cancellationToken: ct)));
        output.WriteLine(create.Message);
        Assert.Equal(
            $"The context 'doppel-test' is not allowed to create jobs in namespace {ns.Name}; check with `kubectl auth can-i create jobs -n {ns.Name}`.",
            create.Message);

        var delete = await Assert.ThrowsAsync<KubeException>(() => KubeApi.CallAsync(connection, "delete", "jobs", ns.Name, () => client.BatchV1.DeleteNamespacedJobAsync("doppel-agent-x", ns.Name, cancellationToken: ct)));
        Assert.Contains($"not allowed to delete jobs in namespace {ns.Name}; check with `kubectl auth can-i delete jobs -n {ns.Name}`.", delete.Message, StringComparison.Ordinal);

        var patch = new V1Patch("""{"ephemeralContainers":[{"name":"doppel-agent","image":"x"}]}""", V1Patch.PatchType.StrategicMergePatch);
        var ephemeral = await Assert.ThrowsAsync<KubeException>(() => KubeApi.CallAsync(connection, "patch", "pods/ephemeralcontainers", ns.Name,
            () => client.CoreV1.PatchNamespacedPodEphemeralcontainersAsync(patch, "target", ns.Name, cancellationToken: ct)));
        Assert.Contains($"not allowed to patch pods/ephemeralcontainers in namespace {ns.Name}; check with `kubectl auth can-i patch pods --subresource=ephemeralcontainers -n {ns.Name}`.", ephemeral.Message, StringComparison.Ordinal);

        // The port-forward's refusal is the WebSocket upgrade answered 403, not a response body.
        var refused = await Record.ExceptionAsync(async () =>
        {
            using var socket = await client.WebSocketNamespacedPodPortForwardAsync("target", ns.Name, [8080], "v4.channel.k8s.io", cancellationToken: ct);
        });
        Assert.NotNull(refused);
        Assert.True(KubeApi.IsForbidden(refused), refused.ToString());
        var forward = KubeApi.PortForwardForbidden(connection, ns.Name, refused).Message;
        output.WriteLine(forward);
        Assert.Contains($"not allowed to port-forward to pods in namespace {ns.Name} (it needs get and create on pods/portforward)", forward, StringComparison.Ordinal);
        Assert.Contains($"`kubectl auth can-i get pods --subresource=portforward -n {ns.Name}`", forward, StringComparison.Ordinal);
        Assert.Contains($"`kubectl auth can-i create pods --subresource=portforward -n {ns.Name}`", forward, StringComparison.Ordinal);

        // Each can-i line is one kubectl accepts, and it says no for this account (view may read logs).
        Assert.Equal("no", await login.CanIAsync(fixture, ["create", "jobs", "-n", ns.Name], ct));
        Assert.Equal("no", await login.CanIAsync(fixture, ["delete", "jobs", "-n", ns.Name], ct));
        Assert.Equal("no", await login.CanIAsync(fixture, ["patch", "pods", "--subresource=ephemeralcontainers", "-n", ns.Name], ct));
        Assert.Equal("no", await login.CanIAsync(fixture, ["create", "pods", "--subresource=portforward", "-n", ns.Name], ct));
        Assert.Equal("no", await login.CanIAsync(fixture, ["get", "pods", "--subresource=portforward", "-n", ns.Name], ct));
        Assert.Equal("yes", await login.CanIAsync(fixture, ["get", "pods", "--subresource=log", "-n", ns.Name], ct));

        // A namespace without even view: the log read is refused with its own wording.
        await using var other = await fixture.CreateNamespaceAsync("diag-rbac-other", ct);
        var log = await Assert.ThrowsAsync<KubeException>(() => KubeApi.CallAsync(connection, "get", "pods/log", other.Name,
            () => client.CoreV1.ReadNamespacedPodLogAsync("target", other.Name, cancellationToken: ct)));
        Assert.Contains($"not allowed to get pods/log in namespace {other.Name}; check with `kubectl auth can-i get pods --subresource=log -n {other.Name}`.", log.Message, StringComparison.Ordinal);
        Assert.Equal("no", await login.CanIAsync(fixture, ["get", "pods", "--subresource=log", "-n", other.Name], ct));
    }

    [Fact]
    public async Task AnAgentPodThatMatchesNoNodeSaysTheSchedulersReasonAndSuggestsTheNodeSelectorOrEphemeral()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = timeout.Token;
        await using var ns = await fixture.CreateNamespaceAsync("diag-nowhere", ct);
        using var connection = Admin();
        var workload = await AgentJob.CreateAsync(ns, "doppel-agent-nowhere", "exec sleep 3600", ct, nodeSelector: "{doppel.local/diag-node: nowhere}");

        var sentence = await AgentJob.ExplanationAsync(connection, workload, ct);

        output.WriteLine(sentence);

        Assert.Contains("cannot be scheduled", sentence, StringComparison.Ordinal);
        // The scheduler's own words (1.20 says "node affinity" for a node selector too; later versions "node selector").
        Assert.Matches("\\(0/1 nodes are available: 1 node\\(s\\) didn't match (Pod's node affinity|Pod's node affinity/selector|node selector)\\)", sentence);
        Assert.Contains("agent.node_selector", sentence, StringComparison.Ordinal);
        Assert.Contains("use -e", sentence, StringComparison.Ordinal);
        Assert.Contains(ns.Name, sentence, StringComparison.Ordinal);
        // The startup timeout, when it runs out now, says the same: it is the reason.
        Assert.Equal(sentence, await AgentStartDiagnosis.ExplainAsync(connection, workload, timedOut: true, ct));
    }

    [Fact]
    public async Task AnAgentPodOnATaintedNodeNamesTheTaintAndSuggestsTolerations()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = timeout.Token;
        await using var ns = await fixture.CreateNamespaceAsync("diag-taint", ct);
        using var connection = Admin();
        var key = $"doppel.local/{ns.Name}";
        string sentence;

        // The taint keeps every new pod off the node (other tests' too): it stays only until the scheduler has refused ours.
        await fixture.Cluster.KubectlCheckedAsync(["taint", "node", fixture.Cluster.NodeName, $"{key}=x:NoSchedule"], ct);
        try
        {
            var workload = await AgentJob.CreateAsync(ns, "doppel-agent-tainted", "exec sleep 3600", ct);
            sentence = await AgentJob.ExplanationAsync(connection, workload, ct);
            output.WriteLine(sentence);
        }
        finally
        {
            await fixture.Cluster.KubectlCheckedAsync(["taint", "node", fixture.Cluster.NodeName, $"{key}:NoSchedule-"], CancellationToken.None);
        }

        Assert.Contains("cannot be scheduled", sentence, StringComparison.Ordinal);
        Assert.Contains($"had taint {{{key}: x}}", sentence, StringComparison.Ordinal);
        Assert.Contains("agent.tolerations", sentence, StringComparison.Ordinal);
        Assert.Contains("use -e", sentence, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAgentImageThatCannotBePulledNamesTheImageAndTheReason()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = timeout.Token;
        // The registry's address is routed to a link of this test's that answers nothing (and the
        // cluster's OUTPUT guard refuses containerd's packets before that).
        await using var discard = await DiscardLink.CreateAsync(DiscardPrefix, ct);
        await using var ns = await fixture.CreateNamespaceAsync("diag-image", ct);
        using var connection = Admin();
        var image = $"{discard.Destination}/doppel-diag/doppel-agent:missing";
        var workload = await AgentJob.CreateAsync(ns, "doppel-agent-image", "exec sleep 3600", ct, image: image, pullPolicy: "Always");

        var sentence = await AgentJob.ExplanationAsync(connection, workload, ct);

        output.WriteLine(sentence);

        Assert.Contains($"The agent's image {image} cannot be pulled on node {fixture.Cluster.NodeName}", sentence, StringComparison.Ordinal);
        Assert.Matches("\\((ErrImagePull|ImagePullBackOff): .+\\)", sentence);
        // The innermost cause, last in the kubelet's message: the sealed cluster refuses the connection.
        Assert.Contains("198.18.77.1:443", sentence, StringComparison.Ordinal);
        Assert.Contains("agent.image", sentence, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AJobWhosePodAQuotaRefusesSaysItNeverGotAPodAndWhy_AndATargetlessPodIsRefusedAtAdmissionNotByRbac()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = timeout.Token;
        await using var ns = await fixture.CreateNamespaceAsync("diag-quota", ct);
        await ns.KubectlAsync(["create", "quota", "no-pods", "--hard=pods=0"], ct);
        using var connection = Admin();
        var workload = await AgentJob.CreateAsync(ns, "doppel-agent-quota", "exec sleep 3600", ct);

        var sentence = await AgentJob.ExplanationAsync(connection, workload, ct);

        output.WriteLine(sentence);

        Assert.Contains($"The agent's Job doppel-agent-quota in namespace {ns.Name} never got a pod: admission refused it", sentence, StringComparison.Ordinal);
        Assert.Contains("exceeded quota: no-pods", sentence, StringComparison.Ordinal);
        Assert.Contains("agent.namespace", sentence, StringComparison.Ordinal);

        var pod = new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = "doppel-agent-targetless" },
            Spec = new V1PodSpec { Containers = [new V1Container { Name = AgentJob.Container, Image = KubeCluster.BusyboxImage }] },
        };
        var refused = await Assert.ThrowsAsync<KubeException>(() => KubeApi.CallAsync(connection, "create", "pods", ns.Name,
            () => connection.Client.CoreV1.CreateNamespacedPodAsync(pod, ns.Name, cancellationToken: ct)));
        output.WriteLine(refused.Message);
        Assert.StartsWith($"The API server refused to create pods in namespace {ns.Name} at admission: ", refused.Message, StringComparison.Ordinal);
        Assert.Contains("exceeded quota: no-pods", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("can-i", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAgentThatExitsGivesItsExitCodeAndItsLastLogLines()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = timeout.Token;
        await using var ns = await fixture.CreateNamespaceAsync("diag-exit", ct);
        using var connection = Admin();
        var workload = await AgentJob.CreateAsync(ns, "doppel-agent-exit", "echo starting >&2; echo diag-fatal: no container abc >&2; exit 3", ct);

        var sentence = await AgentJob.ExplanationAsync(connection, workload, ct);

        output.WriteLine(sentence);

        Assert.Contains("exited with code 3", sentence, StringComparison.Ordinal);
        Assert.Contains("starting | diag-fatal: no container abc", sentence, StringComparison.Ordinal);
        Assert.Contains($"kubectl logs doppel-agent-exit-", sentence, StringComparison.Ordinal);
        Assert.Contains($"-n {ns.Name} -c {AgentJob.Container}`", sentence, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAgentThatRunsButDoesNotAnswerIsNothingWrongYetAndAtTheTimeoutSaysWhatItWasDoing()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = timeout.Token;
        await using var ns = await fixture.CreateNamespaceAsync("diag-timeout", ct);
        using var connection = Admin();
        var workload = await AgentJob.CreateAsync(ns, "doppel-agent-silent", "echo diag agent waiting for the target; exec sleep 3600", ct);
        await Poll.UntilAsync(
            async c => (await ns.KubectlAsync(["get", "pods", "-l", "job-name=doppel-agent-silent", "-o", "jsonpath={.items[*].status.conditions[?(@.type==\"Ready\")].status}"], c)).Contains("True", StringComparison.Ordinal),
            "the silent agent's pod is ready",
            ct);

        Assert.Null(await AgentStartDiagnosis.ExplainAsync(connection, workload, timedOut: false, ct));
        var sentence = await AgentStartDiagnosis.ExplainAsync(connection, workload, timedOut: true, ct);
        output.WriteLine(sentence);

        Assert.NotNull(sentence);
        Assert.StartsWith("The agent did not start within agent.startup_timeout: the agent has been running in pod doppel-agent-silent-", sentence, StringComparison.Ordinal);
        Assert.Contains($"did not answer on port {AgentJob.Port}", sentence, StringComparison.Ordinal);
        Assert.Contains("diag agent waiting for the target", sentence, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAgentJobWhosePodIsStillBeingScheduledOrCreatedSaysSoOnlyAtTheTimeout()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = timeout.Token;
        await using var ns = await fixture.CreateNamespaceAsync("diag-early", ct);
        using var connection = Admin();

        // A Job the controller has not seen yet, or whose pod is not there: "no pod yet".
        var workload = new AgentWorkload(AgentWorkloadKind.Job, ns.Name, "doppel-agent-early", AgentJob.Container, AgentJob.Port);
        var absent = await AgentStartDiagnosis.ExplainAsync(connection, workload, timedOut: true, ct);
        Assert.Equal($"The agent's Job doppel-agent-early in namespace {ns.Name} is gone (deleted by someone, or by its TTL); run doppel again.", absent);

        await ns.ApplyAsync("""
            apiVersion: batch/v1
            kind: Job
            metadata: {name: doppel-agent-early, namespace: NS}
            spec:
              backoffLimit: 0
              parallelism: 0
              template:
                spec:
                  restartPolicy: Never
                  containers: [{name: doppel-agent, image: doppel.local/busybox:1.35, imagePullPolicy: Never}]
            """, ct);
        Assert.Null(await AgentStartDiagnosis.ExplainAsync(connection, workload, timedOut: false, ct));
        var none = await AgentStartDiagnosis.ExplainAsync(connection, workload, timedOut: true, ct);
        Assert.Equal(
            $"The agent did not start within agent.startup_timeout: its Job doppel-agent-early in namespace {ns.Name} had no pod yet; see `kubectl describe job doppel-agent-early -n {ns.Name}`, or raise agent.startup_timeout.",
            none);
    }

    [Fact]
    public async Task AnEphemeralAgentThatExitsIsReadFromTheTargetPodsEphemeralContainerStatuses()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = timeout.Token;
        await using var ns = await fixture.CreateNamespaceAsync("diag-ephemeral", ct);
        using var connection = Admin();
        await ns.KubectlAsync(["run", "target", "--image", KubeCluster.BusyboxImage, "--image-pull-policy=Never", "--restart=Never", "--", "sleep", "3600"], ct);
        await ns.KubectlAsync(["wait", "pod", "target", "--for", "condition=Ready", "--timeout", "90s"], ct);
        var workload = new AgentWorkload(AgentWorkloadKind.EphemeralContainer, ns.Name, "target", AgentJob.Container, AgentJob.Port) { PodName = "target" };

        var missing = await AgentStartDiagnosis.ExplainAsync(connection, workload, timedOut: false, ct);
        Assert.Contains($"has no ephemeral container {AgentJob.Container}", missing, StringComparison.Ordinal);

        // The 1.20 shape (an EphemeralContainers object); later servers take the pod's own shape.
        var patch = $$"""{"ephemeralContainers":[{"name":"{{AgentJob.Container}}","image":"{{KubeCluster.BusyboxImage}}","imagePullPolicy":"Never","command":["sh","-c","echo eph-fatal: cannot join; exit 4"],"terminationMessagePolicy":"File"}]}""";
        await connection.Client.CoreV1.PatchNamespacedPodEphemeralcontainersAsync(new V1Patch(patch, V1Patch.PatchType.StrategicMergePatch), "target", ns.Name, cancellationToken: ct);

        var sentence = await AgentJob.ExplanationAsync(connection, workload, ct);

        output.WriteLine(sentence);

        Assert.Contains("The agent in pod target", sentence, StringComparison.Ordinal);
        Assert.Contains("exited with code 4", sentence, StringComparison.Ordinal);
        Assert.Contains("eph-fatal: cannot join", sentence, StringComparison.Ordinal);
    }

    private KubeConnection Admin() => KubeConnection.Open(new KubeConnectionOptions { Kubeconfig = fixture.Cluster.Kubeconfig, Variables = _ => null });
}
