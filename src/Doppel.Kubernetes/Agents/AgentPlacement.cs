using System.Diagnostics;
using System.Security.Cryptography;
using Doppel.Config;
using Doppel.Kubernetes.Targets;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Doppel.Kubernetes.Agents;

/// <summary>
/// Creates the workload that runs a session's agent (<see cref="AgentPodSpecs"/>), waits until
/// the agent listens, and deletes the workload again.
/// <code>
///   CreateJobAsync / CreateTargetlessPodAsync ──► AgentWorkload (Kind, Namespace, Name, Port)
///   WaitReadyAsync ── pod Running, container running, log line "listening on" ──► AgentWorkload (+PodName, Node)
///   DeleteAsync ──► the Job (its pod with it, background propagation) or the pod; gone already is fine
/// </code>
/// The agent listens on 127.0.0.1:<see cref="AgentWorkload.Port"/> of its pod, which only the API
/// server's port-forward reaches. Every failure is a <see cref="KubeException"/> of one sentence.
/// </summary>
public sealed class AgentPlacement(KubeConnection connection, AgentConfig agent)
{
    private static readonly TimeSpan s_pollInterval = TimeSpan.FromMilliseconds(150);
    private static readonly TimeSpan s_diagnoseInterval = TimeSpan.FromSeconds(1);

    /// <summary>The namespace the agent's workload goes to: <c>agent.namespace</c>, else <paramref name="targetNamespace"/>.</summary>
    public string NamespaceFor(string targetNamespace) => string.IsNullOrEmpty(agent.Namespace) ? targetNamespace : agent.Namespace;

    /// <summary>Creates the agent's Job on <paramref name="target"/>'s node (<see cref="AgentPodSpecs.Job"/>).</summary>
    public async Task<AgentWorkload> CreateJobAsync(ResolvedTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var ns = NamespaceFor(target.Namespace);
        var name = AgentPodSpecs.NewName();
        var port = NewPort();
        var job = AgentPodSpecs.Job(agent, target, ns, name, port);
        await KubeApi.CallAsync(connection, "create", "jobs", ns,
            () => connection.Client.BatchV1.CreateNamespacedJobAsync(job, ns, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return new AgentWorkload(AgentWorkloadKind.Job, ns, name, AgentPodSpecs.ContainerName, port) { Node = target.Node };
    }

    /// <summary>Creates the agent's plain pod for a targetless session in <paramref name="targetNamespace"/> (or <c>agent.namespace</c>).</summary>
    public async Task<AgentWorkload> CreateTargetlessPodAsync(string targetNamespace, CancellationToken cancellationToken)
    {
        var ns = NamespaceFor(targetNamespace);
        var name = AgentPodSpecs.NewName();
        var port = NewPort();
        var pod = AgentPodSpecs.TargetlessPod(agent, ns, name, port);
        await KubeApi.CallAsync(connection, "create", "pods", ns,
            () => connection.Client.CoreV1.CreateNamespacedPodAsync(pod, ns, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return new AgentWorkload(AgentWorkloadKind.Pod, ns, name, AgentPodSpecs.ContainerName, port) { PodName = name };
    }

    /// <summary>
    /// Waits, at most <c>agent.startup_timeout</c>, until the agent's pod runs and the agent has
    /// written "listening on" (its log; when <c>pods/log</c> may not be read, the running container
    /// is taken as ready and the first connection tells). Returns the workload with its pod and
    /// node. Throws <see cref="KubeException"/>: the agent exited (its last log line), or it did
    /// not start (<see cref="AgentStartDiagnosis"/>: at once when it cannot start, else at the timeout).
    /// </summary>
    public async Task<AgentWorkload> WaitReadyAsync(AgentWorkload workload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(workload);
        var timeout = TimeSpan.FromSeconds(Math.Max(agent.StartupTimeout, 1));
        var clock = Stopwatch.StartNew();
        var logReadable = true;
        var diagnosed = TimeSpan.Zero;
        while (true)
        {
            var pod = await FindPodAsync(workload, cancellationToken).ConfigureAwait(false);
            if (pod is not null)
            {
                workload = workload with { PodName = pod.Metadata.Name, Node = pod.Spec?.NodeName ?? workload.Node };
                var state = pod.Status?.ContainerStatuses?.FirstOrDefault(c => c.Name == workload.Container)?.State;
                if (state?.Terminated is { } terminated || pod.Status?.Phase is "Failed" or "Succeeded")
                {
                    throw new KubeException(await ExitedAsync(workload, pod, cancellationToken).ConfigureAwait(false));
                }

                if (pod.Status?.Phase == "Running" && state?.Running is not null)
                {
                    if (!logReadable)
                    {
                        return workload;
                    }

                    var log = await LogAsync(workload, cancellationToken).ConfigureAwait(false);
                    if (log is null)
                    {
                        logReadable = false;
                        continue;
                    }

                    if (log.Contains("listening on ", StringComparison.Ordinal))
                    {
                        return workload;
                    }
                }
            }

            if (clock.Elapsed >= timeout)
            {
                throw new KubeException(await ExplainAsync(workload, timeout, timedOut: true, cancellationToken).ConfigureAwait(false)
                    ?? $"The agent was not ready within {timeout.TotalSeconds:0} s (agent.startup_timeout).");
            }

            // Not ready yet: once a second, whether it is still starting normally or cannot start
            // (RBAC, unschedulable, image pull, admission) — then the sentence now, not at the timeout.
            if (clock.Elapsed - diagnosed >= s_diagnoseInterval)
            {
                diagnosed = clock.Elapsed;
                if (await ExplainAsync(workload, timeout, timedOut: false, cancellationToken).ConfigureAwait(false) is { } failure)
                {
                    throw new KubeException(failure);
                }
            }

            await Task.Delay(s_pollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Deletes what <paramref name="workload"/> names (a Job with its pod, or the pod); one that is
    /// gone already is fine. Throws <see cref="KubeException"/> when the API server refuses.
    /// </summary>
    public async Task DeleteAsync(AgentWorkload workload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(workload);
        switch (workload.Kind)
        {
            case AgentWorkloadKind.Job:
                await KubeApi.CallAsync(connection, "delete", "jobs", workload.Namespace,
                    () => connection.Client.BatchV1.DeleteNamespacedJobAsync(workload.Name, workload.Namespace, propagationPolicy: "Background", cancellationToken: cancellationToken)).ConfigureAwait(false);

                // Background propagation leaves the pod to the garbage collector; deleting it too ends the agent now.
                if (workload.PodName is { } podName)
                {
                    await KubeApi.CallAsync(connection, "delete", "pods", workload.Namespace,
                        () => connection.Client.CoreV1.DeleteNamespacedPodAsync(podName, workload.Namespace, cancellationToken: cancellationToken)).ConfigureAwait(false);
                }

                break;
            case AgentWorkloadKind.Pod:
                await KubeApi.CallAsync(connection, "delete", "pods", workload.Namespace,
                    () => connection.Client.CoreV1.DeleteNamespacedPodAsync(workload.Name, workload.Namespace, cancellationToken: cancellationToken)).ConfigureAwait(false);
                break;
            default:
                throw new ArgumentException($"{workload.Kind} workloads are not placed by {nameof(AgentPlacement)}.", nameof(workload));
        }
    }

    /// <summary>A port for the agent in its pod: 20000–59999 (a Job's or plain pod's network is the agent's own; the range stays clear of common app ports should another kind share a pod's).</summary>
    private static int NewPort() => RandomNumberGenerator.GetInt32(20000, 60000);

    private async Task<V1Pod?> FindPodAsync(AgentWorkload workload, CancellationToken cancellationToken)
    {
        if (workload.Kind == AgentWorkloadKind.Pod)
        {
            return await KubeApi.CallAsync(connection, "get", "pods", workload.Namespace,
                () => connection.Client.CoreV1.ReadNamespacedPodAsync(workload.Name, workload.Namespace, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }

        // The Job controller labels its pods job-name=NAME (Kubernetes 1.20 and later).
        var pods = await KubeApi.CallAsync(connection, "list", "pods", workload.Namespace,
            () => connection.Client.CoreV1.ListNamespacedPodAsync(workload.Namespace, labelSelector: "job-name=" + workload.Name, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return pods?.Items?.OrderByDescending(p => p.Metadata.CreationTimestamp).FirstOrDefault();
    }

    /// <summary>The agent container's log so far (<see cref="AgentLogs.ReadAsync"/>).</summary>
    private Task<string?> LogAsync(AgentWorkload workload, CancellationToken cancellationToken) =>
        AgentLogs.ReadAsync(connection, workload.Namespace, workload.PodName!, workload.Container, cancellationToken);

    /// <summary>The sentence for an agent that exited before it was ready: its exit code and its last error line.</summary>
    private async Task<string> ExitedAsync(AgentWorkload workload, V1Pod pod, CancellationToken cancellationToken)
    {
        var terminated = pod.Status?.ContainerStatuses?.FirstOrDefault(c => c.Name == workload.Container)?.State?.Terminated;
        var log = await LogAsync(workload, cancellationToken).ConfigureAwait(false);
        var last = (log ?? terminated?.Message ?? string.Empty)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .LastOrDefault()?.Replace("doppel-agent: ", string.Empty, StringComparison.Ordinal);
        var code = terminated is null ? $"its pod is {pod.Status?.Phase}" : $"with code {terminated.ExitCode}";
        return $"The agent in pod {workload.Namespace}/{pod.Metadata.Name} on node {pod.Spec?.NodeName} exited {code} before it was ready" +
               (string.IsNullOrEmpty(last) ? "." : $": {last.TrimEnd('.')}.");
    }

    /// <summary>
    /// Why <paramref name="workload"/>'s agent is not ready (<see cref="AgentStartDiagnosis"/>): null
    /// while it is still starting normally; with <paramref name="timedOut"/> always a sentence, which
    /// also names the startup timeout.
    /// </summary>
    private async Task<string?> ExplainAsync(AgentWorkload workload, TimeSpan timeout, bool timedOut, CancellationToken cancellationToken)
    {
        var sentence = await AgentStartDiagnosis.ExplainAsync(connection, workload, timedOut, cancellationToken).ConfigureAwait(false);
        return timedOut && sentence is not null && !sentence.Contains("startup_timeout", StringComparison.Ordinal)
            ? $"{sentence.TrimEnd('.')} (agent.startup_timeout: {timeout.TotalSeconds:0} s)."
            : sentence;
    }
}
