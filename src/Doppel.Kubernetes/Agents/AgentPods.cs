using System.Globalization;
using System.Text;
using k8s;
using k8s.Models;

namespace Doppel.Kubernetes.Agents;

/// <summary>
/// Finds the doppel agents in a namespace and the token each requires (<see cref="AgentSharing"/>):
/// pods labelled <c>app.kubernetes.io/managed-by=doppel,app.kubernetes.io/name=doppel-agent</c>,
/// and the Secret named as the pod's Job. RBAC: <c>list pods</c>, <c>get secrets</c>; a refusal is a
/// <see cref="KubeException"/> naming the verb and resource with its <c>kubectl auth can-i</c> line.
/// </summary>
public static class AgentPods
{
    private static readonly string s_selector = $"{AgentPodSpecs.ManagedByLabel}=doppel,{AgentPodSpecs.NameLabel}={AgentPodSpecs.ContainerName}";

    /// <summary>
    /// The agent pods of <paramref name="ns"/> that are not being deleted and have not ended (Succeeded),
    /// by name. Throws <see cref="KubeException"/> when <paramref name="ns"/> does not exist.
    /// </summary>
    public static async Task<IReadOnlyList<AgentPod>> ListAsync(KubeConnection connection, string ns, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var pods = await KubeApi.CallAsync(connection, "list", "pods", ns, () => connection.Client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: s_selector, cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (pods?.Items is not { Count: > 0 })
        {
            // The API server lists a namespace that does not exist as empty: say which it is.
            await Targets.TargetResolver.ThrowIfNamespaceMissingAsync(connection, ns, cancellationToken).ConfigureAwait(false);
        }

        // An agent whose pod Succeeded ended as it should (its last session left, or its idle time
        // ran out) and is no one's any more: only its Job is left, for the next doppel to sweep.
        return [.. (pods?.Items ?? [])
            .Where(p => p.Metadata.DeletionTimestamp is null && p.Status?.Phase != "Succeeded")
            .Select(ToAgentPod)
            .OrderBy(p => p.Name, StringComparer.Ordinal)];
    }

    /// <summary>
    /// Those of <paramref name="pods"/> that serve <paramref name="target"/>: by its path annotation
    /// (<see cref="AgentSharing.TargetPathAnnotation"/>), or by the UID or name of a pod the target
    /// names — the pod it resolves to and, for a target that names replicas (a deployment, a
    /// service, …), every pod its selector selects, so agents placed for another target of the same
    /// pods (<c>deployment/web</c> and <c>service/web</c>) are listed too
    /// (<see cref="Targets.TargetResolver"/>; its errors are its <see cref="KubeException"/>s).
    /// </summary>
    public static async Task<IReadOnlyList<AgentPod>> OfTargetAsync(KubeConnection connection, IReadOnlyList<AgentPod> pods, Doppel.Config.TargetConfig target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(pods);
        ArgumentNullException.ThrowIfNull(target);
        var resolver = new Targets.TargetResolver(connection);
        var resolved = await resolver.ResolveAsync(target, cancellationToken).ConfigureAwait(false);
        var selector = await resolver.ReplicaSelectorAsync(target, cancellationToken).ConfigureAwait(false);
        IEnumerable<V1Pod?> named;
        if (selector is null)
        {
            named = [await KubeApi.CallAsync(connection, "get", "pods", resolved.Namespace, () => connection.Client.CoreV1.ReadNamespacedPodAsync(resolved.Pod, resolved.Namespace, cancellationToken: cancellationToken)).ConfigureAwait(false)];
        }
        else
        {
            var list = await KubeApi.CallAsync(connection, "list", "pods", resolved.Namespace, () => connection.Client.CoreV1.ListNamespacedPodAsync(resolved.Namespace, labelSelector: selector, cancellationToken: cancellationToken)).ConfigureAwait(false);
            named = list?.Items ?? [];
        }

        var uids = named.OfType<V1Pod>().Select(p => p.Metadata.Uid).ToHashSet(StringComparer.Ordinal);
        var names = named.OfType<V1Pod>().Select(p => $"{resolved.Namespace}/{p.Metadata.Name}/").Append($"{resolved.Namespace}/{resolved.Pod}/").ToList();
        return [.. pods.Where(p => p.TargetPath == target.Path
            || (p.TargetPodUid is { } uid && uids.Contains(uid))
            || (p.Target is { } t && names.Any(n => t.StartsWith(n, StringComparison.Ordinal))))];
    }

    /// <summary>
    /// The UIDs of the pods of <paramref name="ns"/> that are not being deleted: an agent whose
    /// <see cref="AgentPod.TargetPodUid"/> is not among them serves a pod that is gone. Failures are
    /// <see cref="KubeException"/>s (RBAC: <c>list pods</c>).
    /// </summary>
    public static async Task<HashSet<string>> LivePodUidsAsync(KubeConnection connection, string ns, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var list = await KubeApi.CallAsync(connection, "list", "pods", ns, () => connection.Client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return (list?.Items ?? []).Where(p => p.Metadata.DeletionTimestamp is null).Select(p => p.Metadata.Uid).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>
    /// The token the agent requires (<see cref="AgentSharing.TokenSecretKey"/> of the Secret named as
    /// its Job); null when it has no Job or no such Secret (an agent that requires none).
    /// </summary>
    public static async Task<string?> TokenAsync(KubeConnection connection, AgentPod pod, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(pod);
        if (pod.JobName is null)
        {
            return null;
        }

        var secret = await KubeApi.CallAsync(connection, "get", "secrets", pod.Namespace, () => connection.Client.CoreV1.ReadNamespacedSecretAsync(pod.JobName, pod.Namespace, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return secret?.Data?.TryGetValue(AgentSharing.TokenSecretKey, out var token) == true ? Encoding.UTF8.GetString(token).Trim() : null;
    }

    private static AgentPod ToAgentPod(V1Pod pod)
    {
        var labels = new Dictionary<string, string>(pod.Metadata.Labels ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        var annotations = new Dictionary<string, string>(pod.Metadata.Annotations ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        var job = pod.Metadata.OwnerReferences?.FirstOrDefault(o => o.Kind == "Job")?.Name
            ?? labels.GetValueOrDefault("batch.kubernetes.io/job-name") ?? labels.GetValueOrDefault("job-name");
        return new AgentPod(
            pod.Metadata.NamespaceProperty,
            pod.Metadata.Name,
            job,
            ListenPort(pod),
            labels.GetValueOrDefault(AgentSharing.TargetPodUidLabel),
            annotations.GetValueOrDefault(AgentSharing.TargetAnnotation),
            annotations.GetValueOrDefault(AgentSharing.TargetPathAnnotation),
            pod.Status?.Phase ?? "Unknown");
    }

    // The agent container's --listen 127.0.0.1:PORT (AgentPodSpecs.Arguments).
    private static int ListenPort(V1Pod pod)
    {
        var container = pod.Spec?.Containers?.FirstOrDefault(c => c.Name == AgentPodSpecs.ContainerName);
        var words = (container?.Command ?? []).Concat(container?.Args ?? []).ToList();
        var at = words.IndexOf("--listen");
        if (at < 0 || at + 1 >= words.Count)
        {
            return 0;
        }

        var listen = words[at + 1];
        return int.TryParse(listen.AsSpan(listen.LastIndexOf(':') + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) ? port : 0;
    }
}
