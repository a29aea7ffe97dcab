using System.Text.RegularExpressions;
using Doppel.Config;
using Doppel.Config.Targets;
using Doppel.Kubernetes.Targets;
using Doppel.Kubernetes.Tests.Support;
using k8s.Models;

namespace Doppel.Kubernetes.Tests.Targets;

/// <summary>Targets resolve to a running, ready pod and a container of the real cluster (docs/kubernetes.md, "Targets").</summary>
[Collection(KubeCollection.Name)]
public sealed class TargetResolutionTests(KubeFixture fixture)
{
    [Theory]
    [InlineData("deployment/web", "web-", "web")]
    [InlineData("deployment/meshed", "meshed-", "app")]
    [InlineData("deployment/meshed/container/istio-proxy", "meshed-", "istio-proxy")]
    [InlineData("statefulset/db", "db-0", "db")]
    [InlineData("replicaset/rs", "rs-", "worker")]
    [InlineData("job/batch", "batch-", "task")]
    [InlineData("cronjob/nightly", "nightly-manual-", "report")]
    [InlineData("service/web", "web-", "web")]
    [InlineData("label/app=db", "db-0", "db")]
    public async Task ATargetResolvesToItsReadyPodAndContainer(string target, string podPrefix, string container)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var ns = await fixture.SharedNamespaceAsync("targets", ct => TargetsWorkload.CreateAsync(fixture, ct));
        using var connection = Connect(ns.Name);

        var resolved = await new TargetResolver(connection).ResolveAsync(Parse(target, ns.Name), timeout.Token);

        Assert.StartsWith(podPrefix, resolved.Pod, StringComparison.Ordinal);
        Assert.Equal(container, resolved.Container);
        Assert.Equal(ns.Name, resolved.Namespace);
        Assert.Equal(fixture.Cluster.NodeName, resolved.Node);
        var statusId = await ns.KubectlAsync(["get", "pod", resolved.Pod, "-o", $"jsonpath={{.status.containerStatuses[?(@.name==\"{container}\")].containerID}}"], timeout.Token);
        Assert.Equal(statusId, "containerd://" + resolved.ContainerId);
    }

    [Fact]
    public async Task APodTargetResolvesToThatPodAndItsNamespaceComesFromTheConnectionWhenTheTargetHasNone()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var ns = await fixture.SharedNamespaceAsync("targets", ct => TargetsWorkload.CreateAsync(fixture, ct));
        var name = await ns.KubectlAsync(["get", "pod", "-l", "app=rs", "-o", "jsonpath={.items[0].metadata.name}"], timeout.Token);
        using var connection = Connect(ns.Name);

        var resolved = await new TargetResolver(connection).ResolveAsync(Parse($"pod/{name}", targetNamespace: null), timeout.Token);

        Assert.Equal((ns.Name, name, "worker"), (resolved.Namespace, resolved.Pod, resolved.Container));
    }

    [Theory]
    [InlineData("deployment/absent", "^deployment/absent was not found in namespace NS\\.$")]
    [InlineData("cronjob/absent", "^cronjob/absent was not found in namespace NS\\.$")]
    [InlineData("pod/unready", "^pod/unready in namespace NS has no running, ready pod \\(unready: Running, not ready\\); see why with `kubectl get pod unready -n NS` and `kubectl describe pod unready -n NS`, or wait until one is ready\\.$")]
    [InlineData("label/state=stuck", "^label/state=stuck in namespace NS has no running, ready pod \\(stuck: Pending, ErrImageNeverPull\\); see why with `kubectl get pods -n NS -l state=stuck` and `kubectl describe pod stuck -n NS`, or wait until one is ready\\.$")]
    [InlineData("label/app=nothing", "^No pod in namespace NS has the labels app=nothing; check with `kubectl get pods -n NS -l app=nothing`\\.$")]
    [InlineData("deployment/web/container/nope", "^Pod web-[-a-z0-9]+ of deployment/web has no container 'nope'; its containers are web\\.$")]
    [InlineData("pod/mesh-only", "^Pod mesh-only of pod/mesh-only has only sidecar containers \\(istio-proxy, linkerd-proxy\\); choose one with pod/mesh-only/container/NAME\\.$")]
    [InlineData("service/external", "^service/external in namespace NS has no selector, so it names no pods; target one of its pods instead\\.$")]
    [InlineData("rollout/web", "^rollout/web: the cluster has no Argo Rollouts \\(API group argoproj\\.io is not served\\); install Argo Rollouts or target the pods another way\\.$")]
    public async Task ATargetThatCannotBeResolvedFailsWithOneSentence(string target, string pattern)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var ns = await fixture.SharedNamespaceAsync("targets", ct => TargetsWorkload.CreateAsync(fixture, ct));
        using var connection = Connect(ns.Name);

        var error = await Assert.ThrowsAsync<KubeException>(() => new TargetResolver(connection).ResolveAsync(Parse(target, ns.Name), timeout.Token));

        Assert.Matches(pattern.Replace("NS", Regex.Escape(ns.Name), StringComparison.Ordinal), error.Message);
    }

    [Fact]
    public async Task AWorkloadWithoutPodsNamesTheFixAndAMissingNamespaceIsSaidToBeMissing()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var ns = await fixture.CreateNamespaceAsync("nopods", timeout.Token);
        await ns.ApplyAsync(
            $$$"""
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: idle, namespace: NS}
            spec:
              replicas: 0
              selector: {matchLabels: {app: idle}}
              template:
                metadata: {labels: {app: idle}}
                spec: {containers: [{name: idle, image: {{{Doppel.Testing.KubeCluster.BusyboxImage}}}, imagePullPolicy: Never, command: [sleep, "3600"]}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: idle, namespace: NS}
            spec: {selector: {app: idle}, ports: [{port: 80}]}
            """,
            timeout.Token);
        using var connection = Connect(ns.Name);
        var missing = ns.Name + "-gone";

        var scaledDown = await Assert.ThrowsAsync<KubeException>(() => new TargetResolver(connection).ResolveAsync(Parse("deployment/idle", ns.Name), timeout.Token));
        var service = await Assert.ThrowsAsync<KubeException>(() => new TargetResolver(connection).ResolveAsync(Parse("service/idle", ns.Name), timeout.Token));
        var workload = await Assert.ThrowsAsync<KubeException>(() => new TargetResolver(connection).ResolveAsync(Parse("deployment/x", missing), timeout.Token));
        var labels = await Assert.ThrowsAsync<KubeException>(() => new TargetResolver(connection).ResolveAsync(Parse("label/app=x", missing), timeout.Token));

        Assert.Equal(
            $"deployment/idle in namespace {ns.Name} has no pods: scale it up (`kubectl scale deployment/idle -n {ns.Name} --replicas=1`); check with `kubectl get pods -n {ns.Name} -l app=idle`.",
            scaledDown.Message);
        Assert.Equal(
            $"service/idle in namespace {ns.Name} selects no pods: start the workload behind it, or fix its selector (app=idle); check with `kubectl get pods -n {ns.Name} -l app=idle`.",
            service.Message);
        var gone = $"The namespace {missing} does not exist in context 'doppel-test'; check -n (target.namespace) and the context, or list the namespaces with `kubectl get namespaces`.";
        Assert.Equal(gone, workload.Message);
        Assert.Equal(gone, labels.Message);
    }

    [Fact]
    public async Task ARolloutResolvesThroughTheGenericApiWhileItsCrdIsInstalled()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var ns = await fixture.SharedNamespaceAsync("targets", ct => TargetsWorkload.CreateAsync(fixture, ct));
        using var connection = Connect(ns.Name);
        try
        {
            await fixture.Cluster.ApplyAsync(RolloutCrd, timeout.Token);
            await fixture.Cluster.KubectlCheckedAsync(["wait", "--for", "condition=established", "crd/rollouts.argoproj.io", "--timeout", "60s"], timeout.Token);
            await ns.ApplyAsync(
                """
                apiVersion: argoproj.io/v1alpha1
                kind: Rollout
                metadata: {name: canary, namespace: NS}
                spec:
                  selector: {matchLabels: {app: meshed}}
                """,
                timeout.Token);

            var resolved = await new TargetResolver(connection).ResolveAsync(Parse("rollout/canary", ns.Name), timeout.Token);
            var missing = await Assert.ThrowsAsync<KubeException>(() => new TargetResolver(connection).ResolveAsync(Parse("rollout/absent", ns.Name), timeout.Token));

            Assert.StartsWith("meshed-", resolved.Pod, StringComparison.Ordinal);
            Assert.Equal("app", resolved.Container);
            Assert.Equal($"rollout/absent was not found in namespace {ns.Name}.", missing.Message);
        }
        finally
        {
            await fixture.Cluster.KubectlAsync(["delete", "crd", "rollouts.argoproj.io", "--ignore-not-found", "--wait=true", "--timeout=60s"], CancellationToken.None);
        }
    }

    [Fact]
    public void ANativeSidecarIsNeverTheDefaultContainerButCanBeNamed()
    {
        // Native sidecars (init containers with restartPolicy Always) need Kubernetes 1.28; the
        // test cluster is 1.20, so this pod is built here rather than read from it.
        var pod = new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = "p" },
            Spec = new V1PodSpec
            {
                InitContainers = [new V1Container { Name = "log-shipper", RestartPolicy = "Always" }, new V1Container { Name = "migrate" }],
                Containers = [new V1Container { Name = "linkerd-proxy" }, new V1Container { Name = "api" }],
            },
        };

        Assert.Equal("api", TargetResolver.ChooseContainer("pod/p", pod, named: null));
        Assert.Equal("log-shipper", TargetResolver.ChooseContainer("pod/p", pod, named: "log-shipper"));
        Assert.Equal(
            "Pod p of pod/p has no container 'migrate'; its containers are linkerd-proxy, api, log-shipper.",
            Assert.Throws<KubeException>(() => TargetResolver.ChooseContainer("pod/p", pod, named: "migrate")).Message);
    }

    private const string RolloutCrd = """
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata: {name: rollouts.argoproj.io}
        spec:
          group: argoproj.io
          scope: Namespaced
          names: {kind: Rollout, listKind: RolloutList, plural: rollouts, singular: rollout}
          versions:
          - name: v1alpha1
            served: true
            storage: true
            schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
        """;

    private KubeConnection Connect(string ns) => KubeConnection.Open(new KubeConnectionOptions
    {
        Kubeconfig = fixture.Cluster.Kubeconfig,
        Namespace = ns,
        Variables = _ => null,
    });

    private static TargetConfig Parse(string target, string? targetNamespace)
        => TargetParser.TryParse(target, targetNamespace, out var error) ?? throw new ArgumentException(error, nameof(target));
}
