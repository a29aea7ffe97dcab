using k8s;
using k8s.Models;
using Doppel.Config;
using Doppel.Config.Targets;

namespace Doppel.Kubernetes.Targets;

/// <summary>
/// Resolves a cluster target (pod, deployment, statefulset, replicaset, job, cronjob, service,
/// rollout, label) to a running, ready pod and a container:
/// <list type="bullet">
/// <item>pod/NAME: that pod; a workload: the pods its <c>spec.selector</c> selects; service/NAME:
/// the pods its <c>spec.selector</c> selects; cronjob/NAME: the pods of the Jobs it owns (batch/v1
/// or batch/v1beta1, whichever the server serves); rollout/NAME: Argo Rollouts'
/// <c>argoproj.io</c> Rollout through the generic API; label/K=V: the pods with those labels.</item>
/// <item>Of those, the first by name that is Running, Ready and not being deleted.</item>
/// <item>The container: /container/NAME (an app container or a native sidecar), else the first app
/// container that is no known mesh sidecar (<see cref="Sidecars"/>).</item>
/// </list>
/// Every failure is a <see cref="KubeException"/> of one sentence: not found, no ready pod (the
/// pods and their states), unknown container (the choices), a missing Rollout CRD, RBAC.
/// </summary>
public sealed class TargetResolver(KubeConnection connection)
{
    /// <summary>Argo Rollouts' API group.</summary>
    public const string RolloutGroup = "argoproj.io";

    /// <summary>Resolves <paramref name="target"/> in its namespace (else the connection's).</summary>
    public async Task<ResolvedTarget> ResolveAsync(TargetConfig target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var ns = target.Namespace ?? connection.Namespace;
        var what = target.Kind == TargetKind.Label ? $"label/{string.Join(',', target.Labels!.Select(l => $"{l.Key}={l.Value}"))}" : $"{TargetParser.KindWord(target.Kind)}/{target.Name}";
        var (candidates, selector) = target.Kind switch
        {
            TargetKind.Pod => Unselected([await PodAsync(ns, target.Name!, cancellationToken).ConfigureAwait(false)]),
            TargetKind.Label => await SelectedAsync(ns, string.Join(',', target.Labels!.Select(l => $"{l.Key}={l.Value}")), cancellationToken).ConfigureAwait(false),
            TargetKind.CronJob => Unselected(await CronJobPodsAsync(ns, target.Name!, cancellationToken).ConfigureAwait(false)),
            TargetKind.Deployment or TargetKind.StatefulSet or TargetKind.ReplicaSet or TargetKind.Job or TargetKind.Service or TargetKind.Rollout
                => await SelectedAsync(ns, await SelectorAsync(target.Kind, ns, target.Name!, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false),
            _ => throw new KubeException($"'{target.Path}' is not a cluster target; use pod, deployment, statefulset, replicaset, job, cronjob, service, rollout or label targets."),
        };

        var pod = candidates.Where(IsReady).OrderBy(p => p.Metadata.Name, StringComparer.Ordinal).FirstOrDefault();
        if (pod is null)
        {
            if (candidates.Count == 0)
            {
                await ThrowIfNamespaceMissingAsync(connection, ns, cancellationToken).ConfigureAwait(false);
                throw new KubeException(NoPods(target, what, ns, selector));
            }

            var first = candidates.OrderBy(p => p.Metadata.Name, StringComparer.Ordinal).First().Metadata.Name;
            var list = selector is null ? $"`kubectl get pod {first} -n {ns}`" : $"`kubectl get pods -n {ns} -l {Quoted(selector)}`";
            throw new KubeException(
                $"{what} in namespace {ns} has no running, ready pod ({string.Join(", ", candidates.Select(p => $"{p.Metadata.Name}: {State(p)}"))}); " +
                $"see why with {list} and `kubectl describe pod {first} -n {ns}`, or wait until one is ready.");
        }

        return FromPod(what, pod, target.Container) with { Path = target.Path };
    }

    /// <summary>
    /// The label selector (query form, <c>app=bff,tier=web</c>) of the pods <paramref name="target"/>
    /// names when it names a set of replicas: a deployment, statefulset, replicaset, job, service,
    /// rollout or label target; null for pod and cronjob targets (one pod; a CronJob's Jobs are no
    /// replicas of each other). Failures are <see cref="KubeException"/>s as for <see cref="ResolveAsync"/>.
    /// </summary>
    public async Task<string?> ReplicaSelectorAsync(TargetConfig target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var ns = target.Namespace ?? connection.Namespace;
        return target.Kind switch
        {
            TargetKind.Label => string.Join(',', target.Labels!.Select(l => $"{l.Key}={l.Value}")),
            TargetKind.Deployment or TargetKind.StatefulSet or TargetKind.ReplicaSet or TargetKind.Job or TargetKind.Service or TargetKind.Rollout
                => await SelectorAsync(target.Kind, ns, target.Name!, cancellationToken).ConfigureAwait(false),
            _ => null,
        };
    }

    /// <summary>
    /// The pods in <paramref name="ns"/> that <paramref name="selector"/> (query form) selects, as the
    /// API server lists them (ready or not: <see cref="IsReady"/> tells).
    /// </summary>
    public Task<IReadOnlyList<V1Pod>> ListPodsAsync(string ns, string selector, CancellationToken cancellationToken) => PodsAsync(ns, selector, cancellationToken);

    /// <summary>
    /// <paramref name="pod"/> of <paramref name="what"/> (a target path, for messages) as a resolved
    /// target, with <paramref name="container"/> or the container <see cref="ChooseContainer"/> picks
    /// and the pod's HTTP-probed ports (<see cref="KubeletProbes"/>).
    /// </summary>
    public static ResolvedTarget FromPod(string what, V1Pod pod, string? container)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var chosen = ChooseContainer(what, pod, container);
        return new ResolvedTarget(pod.Metadata.NamespaceProperty, pod.Metadata.Name, chosen, ContainerId(pod, chosen), pod.Spec.NodeName, pod.Status?.PodIP)
        {
            Uid = pod.Metadata.Uid,
            Path = what,
            HttpProbePorts = KubeletProbes.HttpPorts(pod.Spec),
        };
    }

    /// <summary>True when the pod is Running, its Ready condition is True and it is not being deleted.</summary>
    public static bool IsReady(V1Pod pod)
        => pod.Metadata?.DeletionTimestamp is null
           && pod.Status?.Phase == "Running"
           && (pod.Status.Conditions ?? []).Any(c => c.Type == "Ready" && c.Status == "True");

    /// <summary>
    /// The container: <paramref name="named"/> when the pod has it (an app container or a native
    /// sidecar), else the first app container that is no known mesh sidecar.
    /// </summary>
    public static string ChooseContainer(string what, V1Pod pod, string? named)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var all = pod.Spec.Containers.Select(c => c.Name).Concat(Sidecars.Native(pod.Spec).Select(c => c.Name)).ToList();
        if (named is not null)
        {
            return all.Contains(named, StringComparer.Ordinal)
                ? named
                : throw new KubeException($"Pod {pod.Metadata.Name} of {what} has no container '{named}'; its containers are {string.Join(", ", all)}.");
        }

        var apps = Sidecars.AppContainers(pod.Spec);
        return apps.Count > 0
            ? apps[0]
            : throw new KubeException($"Pod {pod.Metadata.Name} of {what} has only sidecar containers ({string.Join(", ", all)}); choose one with {what}/container/NAME.");
    }

    private static string? ContainerId(V1Pod pod, string container)
    {
        var status = (pod.Status?.ContainerStatuses ?? []).Concat(pod.Status?.InitContainerStatuses ?? []).FirstOrDefault(s => s.Name == container);
        var id = status?.ContainerID;
        if (string.IsNullOrEmpty(id))
        {
            return null;
        }

        var scheme = id.IndexOf("://", StringComparison.Ordinal);
        return scheme < 0 ? id : id[(scheme + 3)..];
    }

    /// <summary>A pod's state as kubectl shows it, for "no ready pod" messages.</summary>
    private static string State(V1Pod pod)
    {
        if (pod.Metadata.DeletionTimestamp is not null)
        {
            return "Terminating";
        }

        var waiting = (pod.Status?.ContainerStatuses ?? []).Select(s => s.State?.Waiting?.Reason).FirstOrDefault(r => r is not null);
        var phase = pod.Status?.Phase ?? "Unknown";
        return phase == "Running" ? "Running, not ready" : waiting is null ? phase : $"{phase}, {waiting}";
    }

    /// <summary>The pod <paramref name="name"/> in <paramref name="ns"/>; null when there is none. Throws <see cref="KubeException"/> when the API server refuses or cannot be reached.</summary>
    public Task<V1Pod?> FindPodAsync(string ns, string name, CancellationToken cancellationToken)
        => KubeApi.CallAsync(connection, "get", "pods", ns, () => connection.Client.CoreV1.ReadNamespacedPodAsync(name, ns, cancellationToken: cancellationToken));

    private async Task<V1Pod> PodAsync(string ns, string name, CancellationToken cancellationToken)
        => await KubeApi.CallAsync(connection, "get", "pods", ns, () => connection.Client.CoreV1.ReadNamespacedPodAsync(name, ns, cancellationToken: cancellationToken)).ConfigureAwait(false)
           ?? throw await NotFoundAsync("pod", name, ns, cancellationToken).ConfigureAwait(false);

    private static (IReadOnlyList<V1Pod> Pods, string? Selector) Unselected(IReadOnlyList<V1Pod> pods) => (pods, null);

    /// <summary>The pods <paramref name="selector"/> selects, with the selector (for the sentences that name it).</summary>
    private async Task<(IReadOnlyList<V1Pod> Pods, string? Selector)> SelectedAsync(string ns, string selector, CancellationToken cancellationToken)
        => (await PodsAsync(ns, selector, cancellationToken).ConfigureAwait(false), selector);

    private async Task<IReadOnlyList<V1Pod>> PodsAsync(string ns, string selector, CancellationToken cancellationToken)
    {
        var pods = await KubeApi.CallAsync(connection, "list", "pods", ns,
            () => connection.Client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: selector, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return pods?.Items.ToList() ?? [];
    }

    /// <summary>The label selector of a workload or Service, in query form.</summary>
    private async Task<string> SelectorAsync(TargetKind kind, string ns, string name, CancellationToken cancellationToken)
    {
        var word = TargetParser.KindWord(kind);
        V1LabelSelector? selector = kind switch
        {
            TargetKind.Deployment => (await KubeApi.CallAsync(connection, "get", "deployments", ns, () => connection.Client.AppsV1.ReadNamespacedDeploymentAsync(name, ns, cancellationToken: cancellationToken)).ConfigureAwait(false)
                ?? throw await NotFoundAsync(word, name, ns, cancellationToken).ConfigureAwait(false)).Spec.Selector,
            TargetKind.StatefulSet => (await KubeApi.CallAsync(connection, "get", "statefulsets", ns, () => connection.Client.AppsV1.ReadNamespacedStatefulSetAsync(name, ns, cancellationToken: cancellationToken)).ConfigureAwait(false)
                ?? throw await NotFoundAsync(word, name, ns, cancellationToken).ConfigureAwait(false)).Spec.Selector,
            TargetKind.ReplicaSet => (await KubeApi.CallAsync(connection, "get", "replicasets", ns, () => connection.Client.AppsV1.ReadNamespacedReplicaSetAsync(name, ns, cancellationToken: cancellationToken)).ConfigureAwait(false)
                ?? throw await NotFoundAsync(word, name, ns, cancellationToken).ConfigureAwait(false)).Spec.Selector,
            TargetKind.Job => (await KubeApi.CallAsync(connection, "get", "jobs", ns, () => connection.Client.BatchV1.ReadNamespacedJobAsync(name, ns, cancellationToken: cancellationToken)).ConfigureAwait(false)
                ?? throw await NotFoundAsync(word, name, ns, cancellationToken).ConfigureAwait(false)).Spec.Selector,
            TargetKind.Service => ServiceSelector(
                await KubeApi.CallAsync(connection, "get", "services", ns, () => connection.Client.CoreV1.ReadNamespacedServiceAsync(name, ns, cancellationToken: cancellationToken)).ConfigureAwait(false)
                ?? throw await NotFoundAsync(word, name, ns, cancellationToken).ConfigureAwait(false)),
            TargetKind.Rollout => await RolloutSelectorAsync(ns, name, cancellationToken).ConfigureAwait(false),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

        return KubeApi.SelectorString(selector)
            ?? throw new KubeException($"{word}/{name} in namespace {ns} has no selector, so it names no pods; target one of its pods instead.");
    }

    private static V1LabelSelector? ServiceSelector(V1Service service)
        => service.Spec?.Selector is { Count: > 0 } labels ? new V1LabelSelector { MatchLabels = labels } : null;

    private async Task<V1LabelSelector?> RolloutSelectorAsync(string ns, string name, CancellationToken cancellationToken)
    {
        var versions = await KubeApi.GroupVersionsAsync(connection, RolloutGroup, cancellationToken).ConfigureAwait(false);
        if (versions.Count == 0)
        {
            throw new KubeException($"rollout/{name}: the cluster has no Argo Rollouts (API group {RolloutGroup} is not served); install Argo Rollouts or target the pods another way.");
        }

        var rollout = await KubeApi.GetGenericAsync(connection, RolloutGroup, versions[0], "rollouts", ns, name, cancellationToken).ConfigureAwait(false)
            ?? throw await NotFoundAsync("rollout", name, ns, cancellationToken).ConfigureAwait(false);
        return rollout.TryGetProperty("spec", out var spec) && spec.TryGetProperty("selector", out var selector)
            ? KubeApi.SelectorFromJson(selector)
            : null;
    }

    /// <summary>The pods of the Jobs a CronJob owns (batch/v1 when served, else batch/v1beta1).</summary>
    private async Task<IReadOnlyList<V1Pod>> CronJobPodsAsync(string ns, string name, CancellationToken cancellationToken)
    {
        var version = await CronJobVersionAsync(connection, cancellationToken).ConfigureAwait(false);
        var cronJob = await KubeApi.GetGenericAsync(connection, "batch", version, "cronjobs", ns, name, cancellationToken).ConfigureAwait(false)
            ?? throw await NotFoundAsync("cronjob", name, ns, cancellationToken).ConfigureAwait(false);
        var uid = cronJob.GetProperty("metadata").GetProperty("uid").GetString();
        var jobs = await KubeApi.CallAsync(connection, "list", "jobs", ns, () => connection.Client.BatchV1.ListNamespacedJobAsync(ns, cancellationToken: cancellationToken)).ConfigureAwait(false);
        var owned = jobs?.Items.Where(j => (j.Metadata.OwnerReferences ?? []).Any(o => o.Uid == uid)).Select(j => j.Metadata.Uid).ToHashSet(StringComparer.Ordinal) ?? [];
        if (owned.Count == 0)
        {
            return [];
        }

        var pods = await PodsAsync(ns, "", cancellationToken).ConfigureAwait(false);
        return pods.Where(p => (p.Metadata.OwnerReferences ?? []).Any(o => owned.Contains(o.Uid))).ToList();
    }

    /// <summary>The CronJob API version the server serves: batch/v1 from Kubernetes 1.21, batch/v1beta1 before.</summary>
    internal static async Task<string> CronJobVersionAsync(KubeConnection connection, CancellationToken cancellationToken)
    {
        var batch = await KubeApi.CallAsync(connection, "get", "API group batch", null, () => connection.Client.Batch.GetAPIGroupAsync(cancellationToken)).ConfigureAwait(false);
        var versions = batch?.Versions.Select(v => v.Version).ToList() ?? [];

        // batch/v1 is served on 1.20 too, but for Jobs only: its resource list says whether it has cronjobs.
        if (versions.Contains("v1"))
        {
            var resources = await KubeApi.CallAsync(connection, "get", "API resources of batch/v1", null, () => connection.Client.BatchV1.GetAPIResourcesAsync(cancellationToken)).ConfigureAwait(false);
            if (resources?.Resources.Any(r => r.Name == "cronjobs") == true)
            {
                return "v1";
            }
        }

        return versions.Contains("v1beta1")
            ? "v1beta1"
            : throw new KubeException("The cluster serves no CronJob API (neither batch/v1 nor batch/v1beta1 has cronjobs).");
    }

    /// <summary>
    /// The sentence for a target that names no pods: what to scale or check, with the <c>kubectl</c>
    /// line that lists what the selector selects.
    /// </summary>
    private static string NoPods(TargetConfig target, string what, string ns, string? selector)
    {
        var check = selector is null ? "" : $"; check with `kubectl get pods -n {ns} -l {Quoted(selector)}`";
        return target.Kind switch
        {
            TargetKind.Deployment or TargetKind.StatefulSet or TargetKind.ReplicaSet or TargetKind.Rollout
                => $"{what} in namespace {ns} has no pods: scale it up (`kubectl scale {what} -n {ns} --replicas=1`){check}.",
            TargetKind.Service => $"{what} in namespace {ns} selects no pods: start the workload behind it, or fix its selector ({selector}){check}.",
            TargetKind.Label => $"No pod in namespace {ns} has the labels {selector}{check}.",
            TargetKind.Job => $"{what} in namespace {ns} has no pods; run the Job again, or target a pod that runs{check}.",
            TargetKind.CronJob => $"{what} in namespace {ns} has no running Job: wait for its schedule, or start one with `kubectl create job --from={what} -n {ns} NAME`.",
            _ => $"{what} in namespace {ns} has no pods{check}.",
        };
    }

    /// <summary>A label selector as a shell word: quoted when it holds more than names, <c>=</c> and <c>,</c> (<c>'tier in (a,b)'</c>, <c>'!canary'</c>).</summary>
    private static string Quoted(string selector)
        => selector.All(c => char.IsAsciiLetterOrDigit(c) || c is '=' or ',' or '.' or '-' or '_' or '/') ? selector : $"'{selector}'";

    /// <summary>
    /// Throws one sentence when namespace <paramref name="ns"/> does not exist (a lookup in it finds
    /// nothing, and listing in it finds empty lists, with nothing saying why). Needs <c>get
    /// namespaces</c>; a context without it learns nothing here and gets the plain "not found".
    /// </summary>
    internal static async Task ThrowIfNamespaceMissingAsync(KubeConnection connection, string ns, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        V1Namespace? found;
        try
        {
            found = await KubeApi.CallAsync(connection, "get", "namespaces", null, () => connection.Client.CoreV1.ReadNamespaceAsync(ns, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }
        catch (KubeException e) when (KubeApi.IsForbidden(e))
        {
            return;
        }

        if (found is null)
        {
            throw new KubeException($"The namespace {ns} does not exist in context '{connection.Context}'; check -n (target.namespace) and the context, or list the namespaces with `kubectl get namespaces`.");
        }
    }

    /// <summary><c>KIND/NAME was not found in namespace N.</c>, or the missing namespace's sentence when that is why.</summary>
    private async Task<KubeException> NotFoundAsync(string kind, string name, string ns, CancellationToken cancellationToken)
    {
        await ThrowIfNamespaceMissingAsync(connection, ns, cancellationToken).ConfigureAwait(false);
        return new KubeException($"{kind}/{name} was not found in namespace {ns}.");
    }
}
