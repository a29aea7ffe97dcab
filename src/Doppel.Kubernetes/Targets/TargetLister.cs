using System.Text.Json;
using k8s;
using k8s.Models;

namespace Doppel.Kubernetes.Targets;

/// <summary>One target <c>doppel ls</c> lists: its kind word, name and containers (the pod template's, or the pod's).</summary>
/// <param name="Kind">pod, deployment, rollout, statefulset, cronjob, job, service or replicaset.</param>
/// <param name="Name">The object's name.</param>
/// <param name="Containers">App containers, known mesh sidecars left out; empty for a Service.</param>
public sealed record ListedTarget(string Kind, string Name, IReadOnlyList<string> Containers)
{
    /// <summary>
    /// mirrord's target paths for this object: <c>KIND/NAME</c>; a pod with several app containers
    /// gives <c>pod/NAME/container/C</c> for each, and one with sidecars only gives none
    /// (mirrord-kube's seeker.rs).
    /// </summary>
    public IEnumerable<string> Paths => Kind == "pod" && Containers.Count != 1
        ? Containers.Select(c => $"pod/{Name}/container/{c}")
        : [$"{Kind}/{Name}"];
}

/// <summary>
/// The targets of a namespace, for <c>doppel ls</c>, in mirrord's order: deployments, rollouts,
/// statefulsets, cronjobs, jobs, services, replicasets, pods; by name within a kind. Pods are
/// listed only when Running and ready (as mirrord's <c>ls</c>). Rollouts only when the cluster
/// serves Argo Rollouts; CronJobs from batch/v1 or batch/v1beta1, whichever serves them.
/// </summary>
public sealed class TargetLister(KubeConnection connection)
{
    /// <summary>
    /// Lists the targets of <paramref name="ns"/>; <see cref="KubeException"/> on RBAC or connection
    /// failures, and when the namespace does not exist (told apart from an empty one with <c>get
    /// namespaces</c>; without that right a missing namespace lists as empty).
    /// </summary>
    public async Task<IReadOnlyList<ListedTarget>> ListAsync(string ns, CancellationToken cancellationToken)
    {
        var client = connection.Client;
        var deployments = KubeApi.CallAsync(connection, "list", "deployments", ns, () => client.AppsV1.ListNamespacedDeploymentAsync(ns, cancellationToken: cancellationToken));
        var statefulSets = KubeApi.CallAsync(connection, "list", "statefulsets", ns, () => client.AppsV1.ListNamespacedStatefulSetAsync(ns, cancellationToken: cancellationToken));
        var replicaSets = KubeApi.CallAsync(connection, "list", "replicasets", ns, () => client.AppsV1.ListNamespacedReplicaSetAsync(ns, cancellationToken: cancellationToken));
        var jobs = KubeApi.CallAsync(connection, "list", "jobs", ns, () => client.BatchV1.ListNamespacedJobAsync(ns, cancellationToken: cancellationToken));
        var services = KubeApi.CallAsync(connection, "list", "services", ns, () => client.CoreV1.ListNamespacedServiceAsync(ns, cancellationToken: cancellationToken));
        var pods = KubeApi.CallAsync(connection, "list", "pods", ns, () => client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: cancellationToken));
        var cronJobs = ListCronJobsAsync(ns, cancellationToken);
        var rollouts = ListRolloutsAsync(ns, cancellationToken);

        var result = new List<ListedTarget>();
        result.AddRange(Sorted("deployment", (await deployments.ConfigureAwait(false))?.Items.Select(d => (d.Metadata.Name, (V1PodSpec?)d.Spec.Template.Spec))));
        result.AddRange(await rollouts.ConfigureAwait(false));
        result.AddRange(Sorted("statefulset", (await statefulSets.ConfigureAwait(false))?.Items.Select(s => (s.Metadata.Name, (V1PodSpec?)s.Spec.Template.Spec))));
        result.AddRange(await cronJobs.ConfigureAwait(false));
        result.AddRange(Sorted("job", (await jobs.ConfigureAwait(false))?.Items.Select(j => (j.Metadata.Name, (V1PodSpec?)j.Spec.Template.Spec))));
        result.AddRange((await services.ConfigureAwait(false))?.Items
            .Where(s => s.Spec?.Selector is { Count: > 0 })
            .Select(s => new ListedTarget("service", s.Metadata.Name, []))
            .OrderBy(t => t.Name, StringComparer.Ordinal) ?? Enumerable.Empty<ListedTarget>());
        result.AddRange(Sorted("replicaset", (await replicaSets.ConfigureAwait(false))?.Items.Select(r => (r.Metadata.Name, r.Spec.Template?.Spec))));
        result.AddRange(Sorted("pod", (await pods.ConfigureAwait(false))?.Items.Where(TargetResolver.IsReady).Select(p => (p.Metadata.Name, (V1PodSpec?)p.Spec))));
        if (result.Count == 0)
        {
            // The API server lists a namespace that does not exist as empty: say which it is.
            await TargetResolver.ThrowIfNamespaceMissingAsync(connection, ns, cancellationToken).ConfigureAwait(false);
        }

        return result;
    }

    /// <summary>The namespaces of the cluster, by name (empty when listing them is not allowed: <c>ls</c> works in one namespace without it).</summary>
    public async Task<IReadOnlyList<string>> NamespacesAsync(CancellationToken cancellationToken)
    {
        try
        {
            var list = await KubeApi.CallAsync(connection, "list", "namespaces", null, () => connection.Client.CoreV1.ListNamespaceAsync(cancellationToken: cancellationToken)).ConfigureAwait(false);
            return list?.Items.Select(n => n.Metadata.Name).Order(StringComparer.Ordinal).ToList() ?? [];
        }
        catch (KubeException e) when (e.InnerException is k8s.Autorest.HttpOperationException { Response.StatusCode: System.Net.HttpStatusCode.Forbidden })
        {
            return [];
        }
    }

    private async Task<IReadOnlyList<ListedTarget>> ListCronJobsAsync(string ns, CancellationToken cancellationToken)
    {
        var version = await TargetResolver.CronJobVersionAsync(connection, cancellationToken).ConfigureAwait(false);
        var items = await KubeApi.ListGenericAsync(connection, "batch", version, "cronjobs", ns, cancellationToken).ConfigureAwait(false);
        return items.Select(c => new ListedTarget("cronjob", Name(c), TemplateContainers(c, "jobTemplate", "spec", "template", "spec")))
            .OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
    }

    private async Task<IReadOnlyList<ListedTarget>> ListRolloutsAsync(string ns, CancellationToken cancellationToken)
    {
        var versions = await KubeApi.GroupVersionsAsync(connection, TargetResolver.RolloutGroup, cancellationToken).ConfigureAwait(false);
        if (versions.Count == 0)
        {
            return [];
        }

        var items = await KubeApi.ListGenericAsync(connection, TargetResolver.RolloutGroup, versions[0], "rollouts", ns, cancellationToken).ConfigureAwait(false);
        return items.Select(r => new ListedTarget("rollout", Name(r), TemplateContainers(r, "template", "spec")))
            .OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
    }

    private static IEnumerable<ListedTarget> Sorted(string kind, IEnumerable<(string Name, V1PodSpec? Spec)>? items)
        => items?.Select(i => new ListedTarget(kind, i.Name, i.Spec is null ? [] : Sidecars.AppContainers(i.Spec)))
               .OrderBy(t => t.Name, StringComparer.Ordinal)
           ?? Enumerable.Empty<ListedTarget>();

    private static string Name(JsonElement item) => item.GetProperty("metadata").GetProperty("name").GetString() ?? "";

    /// <summary>The app container names at spec.PATH.../containers of a generic object (empty when absent).</summary>
    private static IReadOnlyList<string> TemplateContainers(JsonElement item, params string[] path)
    {
        if (!item.TryGetProperty("spec", out var node))
        {
            return [];
        }

        foreach (var step in path)
        {
            if (node.ValueKind != JsonValueKind.Object || !node.TryGetProperty(step, out node))
            {
                return [];
            }
        }

        return node.ValueKind == JsonValueKind.Object && node.TryGetProperty("containers", out var containers) && containers.ValueKind == JsonValueKind.Array
            ? containers.EnumerateArray().Select(c => c.GetProperty("name").GetString() ?? "").Where(n => !Sidecars.IsMesh(n)).ToList()
            : [];
    }
}
