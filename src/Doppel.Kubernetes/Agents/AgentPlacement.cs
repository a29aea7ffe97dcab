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
    /// not start in time (<see cref="ExplainAsync"/>).
    /// </summary>
    public async Task<AgentWorkload> WaitReadyAsync(AgentWorkload workload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(workload);
        var timeout = TimeSpan.FromSeconds(Math.Max(agent.StartupTimeout, 1));
        var clock = Stopwatch.StartNew();
        var logReadable = true;
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
                throw new KubeException(await ExplainAsync(workload, pod, timeout, cancellationToken).ConfigureAwait(false));
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

    /// <summary>The agent container's log so far; null when the context may not read pod logs (or the pod is gone).</summary>
    private async Task<string?> LogAsync(AgentWorkload workload, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await connection.Client.CoreV1.ReadNamespacedPodLogAsync(
                workload.PodName, workload.Namespace, container: workload.Container, cancellationToken: cancellationToken).ConfigureAwait(false);
            using var reader = new StreamReader(stream);
            return await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is System.Net.HttpStatusCode.Forbidden or System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.BadRequest)
        {
            return string.Empty; // "container is waiting to start": not yet
        }
    }

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

    // ---------------------------------------------------------------------------------------------
    // The one call site for the start-failure diagnosis (helper "diag": AgentStartDiagnosis, which
    // reads Job conditions, events and pod status to name RBAC, unschedulable, image pull and
    // admission failures). Until it is plugged in, this says the pod's phase and container state.
    // ---------------------------------------------------------------------------------------------

    /// <summary>One sentence saying why <paramref name="workload"/>'s agent did not become ready within <paramref name="timeout"/>.</summary>
    private Task<string> ExplainAsync(AgentWorkload workload, V1Pod? pod, TimeSpan timeout, CancellationToken cancellationToken)
    {
        _ = cancellationToken;
        var what = workload.Kind == AgentWorkloadKind.Job ? $"Job {workload.Namespace}/{workload.Name}" : $"pod {workload.Namespace}/{workload.Name}";
        if (pod is null)
        {
            return Task.FromResult($"The agent's {what} got no pod within {timeout.TotalSeconds:0} s (agent.startup_timeout); see `kubectl describe job {workload.Name} -n {workload.Namespace} --context {connection.Context}`.");
        }

        var state = pod.Status?.ContainerStatuses?.FirstOrDefault(c => c.Name == workload.Container)?.State;
        var container = state switch
        {
            { Waiting: { } waiting } => $"its container is waiting ({waiting.Reason}{(string.IsNullOrEmpty(waiting.Message) ? "" : ": " + waiting.Message.TrimEnd('.'))})",
            { Running: not null } => "its container runs but the agent has not said it listens",
            _ => "its container has not started",
        };
        return Task.FromResult(
            $"The agent of {what} was not ready within {timeout.TotalSeconds:0} s (agent.startup_timeout): pod {pod.Metadata.Name} is {pod.Status?.Phase ?? "unknown"} and {container}; " +
            $"see `kubectl describe pod {pod.Metadata.Name} -n {workload.Namespace} --context {connection.Context}`.");
    }
}
