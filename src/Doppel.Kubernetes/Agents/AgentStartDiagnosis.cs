using System.Globalization;
using k8s;
using k8s.Models;

namespace Doppel.Kubernetes.Agents;

/// <summary>
/// Why an agent doppel placed does not start, as one sentence a developer can act on, read from
/// the cluster (docs/kubernetes.md, "When the agent does not start"):
/// <list type="bullet">
/// <item>the Job's FailedCreate event: admission refused its pod (a ResourceQuota, a policy), so
/// the Job never gets one;</item>
/// <item>the pod's PodScheduled=False (Unschedulable): the scheduler's message, and what to change
/// (agent.node_selector, agent.tolerations, or <c>-e</c>);</item>
/// <item>a node that refused the pod (phase Failed with a reason, e.g. OutOfcpu);</item>
/// <item>the agent container (or ephemeral container) waiting on its image (ErrImagePull,
/// ImagePullBackOff, …: the image and the kubelet's reason), on its configuration
/// (CreateContainerConfigError, …), or terminated / crash-looping (the exit code and the last
/// lines of its log);</item>
/// <item>the Job's Failed condition (BackoffLimitExceeded, DeadlineExceeded) when its pod is gone;</item>
/// <item>with <c>timedOut</c>: what the agent was doing when the startup timeout ran out (no pod
/// yet, waiting to be scheduled, pulling its image, creating its container, running but not
/// answering on its port).</item>
/// </list>
/// </summary>
public static class AgentStartDiagnosis
{
    /// <summary>How many lines of the agent's log a sentence quotes.</summary>
    private const int LogLines = 5;

    /// <summary>Messages from the cluster are cut to this many characters.</summary>
    private const int MessageLength = 300;

    private static readonly HashSet<string> s_imageReasons = new(StringComparer.Ordinal)
    {
        "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "RegistryUnavailable", "ErrImageInspect", "ImageInspectError",
    };

    /// <summary>The kubelet's transient "failed to sync secret cache: timed out waiting for the condition" (configmap likewise).</summary>
    private static bool IsCacheSync(string? message) =>
        message is not null && message.Contains("failed to sync", StringComparison.Ordinal) && message.Contains("cache", StringComparison.Ordinal);

    private static readonly HashSet<string> s_configReasons = new(StringComparer.Ordinal)
    {
        "CreateContainerConfigError", "CreateContainerError", "RunContainerError", "PreStartHookError", "PostStartHookError",
    };

    /// <summary>
    /// Reads the workload's Job (for <see cref="AgentWorkloadKind.Job"/>), its pod, the pod's and
    /// the Job's events and, for an agent that exited, the last lines of its log, and returns one
    /// sentence saying why the agent does not start and what to do — or null when nothing is
    /// wrong yet (it is still starting normally). With <paramref name="timedOut"/> (the caller's
    /// <c>agent.startup_timeout</c> ran out) it always returns a sentence, saying what the agent
    /// was doing. A failure to read the cluster becomes the sentence too (an RBAC refusal names
    /// the <c>kubectl auth can-i</c> line; <see cref="KubeApi.CallAsync"/>); events and logs the
    /// context may not read are left out. Only cancellation throws.
    /// </summary>
    /// <param name="connection">The connection the workload was created through.</param>
    /// <param name="workload">What was created; <see cref="AgentWorkload.PodName"/> is used when
    /// set, else a Job's pod is found by its <c>controller-uid</c> label.</param>
    /// <param name="timedOut">True when the startup timeout ran out: a sentence is always returned.</param>
    /// <param name="cancellationToken">Cancels the requests.</param>
    public static async Task<string?> ExplainAsync(KubeConnection connection, AgentWorkload workload, bool timedOut, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(workload);
        try
        {
            return workload.Kind switch
            {
                AgentWorkloadKind.Job => await ExplainJobAsync(connection, workload, timedOut, cancellationToken).ConfigureAwait(false),
                AgentWorkloadKind.Pod => await ExplainPodAsync(connection, workload, timedOut, cancellationToken).ConfigureAwait(false),
                _ => await ExplainEphemeralAsync(connection, workload, timedOut, cancellationToken).ConfigureAwait(false),
            };
        }
        catch (KubeException e)
        {
            return e.Message;
        }
    }

    private static async Task<string?> ExplainJobAsync(KubeConnection connection, AgentWorkload workload, bool timedOut, CancellationToken cancellationToken)
    {
        var ns = workload.Namespace;
        var job = await KubeApi.CallAsync(connection, "get", "jobs", ns,
            () => connection.Client.BatchV1.ReadNamespacedJobAsync(workload.Name, ns, cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (job is null)
        {
            return $"The agent's Job {workload.Name} in namespace {ns} is gone (deleted by someone, or by its TTL); run doppel again.";
        }

        var pod = await JobPodAsync(connection, workload, job, cancellationToken).ConfigureAwait(false);
        var failed = (job.Status?.Conditions ?? []).FirstOrDefault(c => c.Type == "Failed" && c.Status == "True");
        if (pod is null)
        {
            var events = await EventsAsync(connection, ns, "Job", workload.Name, job.Metadata.Uid, cancellationToken).ConfigureAwait(false);
            var refused = events.LastOrDefault(e => e.Reason == "FailedCreate");
            if (refused is not null)
            {
                return AdmissionRefused(workload, refused.Message ?? "");
            }

            if (failed is not null)
            {
                return $"The agent's Job {workload.Name} in namespace {ns} failed ({failed.Reason}: {Cut(failed.Message)}) and has no pod left; see `kubectl describe job {workload.Name} -n {ns}`.";
            }

            return timedOut
                ? $"The agent did not start within agent.startup_timeout: its Job {workload.Name} in namespace {ns} had no pod yet; see `kubectl describe job {workload.Name} -n {ns}`, or raise agent.startup_timeout."
                : null;
        }

        var sentence = await ExplainPodStateAsync(connection, workload, pod, timedOut, cancellationToken).ConfigureAwait(false);
        if (sentence is null && failed is not null)
        {
            return $"The agent's Job {workload.Name} in namespace {ns} failed ({failed.Reason}: {Cut(failed.Message)}); see `kubectl describe job {workload.Name} -n {ns}`.";
        }

        return sentence;
    }

    private static async Task<string?> ExplainPodAsync(KubeConnection connection, AgentWorkload workload, bool timedOut, CancellationToken cancellationToken)
    {
        var name = workload.PodName ?? workload.Name;
        var pod = await KubeApi.CallAsync(connection, "get", "pods", workload.Namespace,
            () => connection.Client.CoreV1.ReadNamespacedPodAsync(name, workload.Namespace, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return pod is null
            ? $"The agent's pod {name} in namespace {workload.Namespace} is gone (deleted by someone); run doppel again."
            : await ExplainPodStateAsync(connection, workload, pod, timedOut, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<string?> ExplainEphemeralAsync(KubeConnection connection, AgentWorkload workload, bool timedOut, CancellationToken cancellationToken)
    {
        var name = workload.PodName ?? workload.Name;
        var ns = workload.Namespace;
        var pod = await KubeApi.CallAsync(connection, "get", "pods", ns,
            () => connection.Client.CoreV1.ReadNamespacedPodAsync(name, ns, cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (pod is null)
        {
            return $"The target pod {name} in namespace {ns}, which the agent was added to as an ephemeral container, is gone; run doppel again.";
        }

        if (!(pod.Spec.EphemeralContainers ?? []).Any(c => c.Name == workload.Container))
        {
            return $"The target pod {name} in namespace {ns} has no ephemeral container {workload.Container}: adding it did not take effect; check that the cluster allows ephemeral containers (Kubernetes 1.23+, or the EphemeralContainers feature gate before), or run without -e.";
        }

        var status = (pod.Status?.EphemeralContainerStatuses ?? []).FirstOrDefault(s => s.Name == workload.Container);
        var facts = new PodFacts(workload, pod, status, Image(pod, workload.Container));
        return await ExplainContainerAsync(connection, facts, cancellationToken).ConfigureAwait(false)
               ?? (timedOut ? await TimedOutAsync(connection, facts, cancellationToken).ConfigureAwait(false) : null);
    }

    private static async Task<string?> ExplainPodStateAsync(KubeConnection connection, AgentWorkload workload, V1Pod pod, bool timedOut, CancellationToken cancellationToken)
    {
        var name = pod.Metadata.Name;
        var ns = pod.Metadata.NamespaceProperty ?? workload.Namespace;
        var scheduled = (pod.Status?.Conditions ?? []).FirstOrDefault(c => c.Type == "PodScheduled");
        if (scheduled is { Status: "False", Reason: "Unschedulable" })
        {
            var fix = workload.Kind == AgentWorkloadKind.Job
                ? "give the agent the tolerations (agent.tolerations) or node selector (agent.node_selector) it needs, or use -e to run it as an ephemeral container in the target pod, which needs no scheduling"
                : "give the agent the tolerations (agent.tolerations) or node selector (agent.node_selector) it needs, or free room on a node";
            return $"The agent's pod {name} in namespace {ns} cannot be scheduled ({Cut(scheduled.Message)}); {fix}.";
        }

        var status = (pod.Status?.ContainerStatuses ?? []).FirstOrDefault(s => s.Name == workload.Container);
        if (pod.Status?.Phase == "Failed" && status?.State?.Terminated is null && !string.IsNullOrEmpty(pod.Status.Reason))
        {
            return $"The node {pod.Spec.NodeName} refused the agent's pod {name} in namespace {ns} ({pod.Status.Reason}: {Cut(pod.Status.Message)}); choose another node with agent.node_selector, or lower agent.resources.";
        }

        var facts = new PodFacts(workload, pod, status, Image(pod, workload.Container));
        return await ExplainContainerAsync(connection, facts, cancellationToken).ConfigureAwait(false)
               ?? (timedOut ? await TimedOutAsync(connection, facts, cancellationToken).ConfigureAwait(false) : null);
    }

    /// <summary>The agent container's own trouble: its image, its configuration, its exit; null when it has none (yet).</summary>
    private static async Task<string?> ExplainContainerAsync(KubeConnection connection, PodFacts facts, CancellationToken cancellationToken)
    {
        var status = facts.Status;
        var waiting = status?.State?.Waiting;
        if (waiting is not null && s_imageReasons.Contains(waiting.Reason ?? ""))
        {
            var detail = waiting.Message;
            if (waiting.Reason == "ImagePullBackOff" || string.IsNullOrEmpty(detail))
            {
                // The back-off's own message only says it backs off; the kubelet's Failed event says why.
                var events = await EventsAsync(connection, facts.Namespace, "Pod", facts.PodName, facts.Pod.Metadata.Uid, cancellationToken).ConfigureAwait(false);
                detail = events.LastOrDefault(e => e.Reason == "Failed" && (e.Message ?? "").Contains(facts.Image, StringComparison.Ordinal))?.Message ?? detail;
            }

            return $"The agent's image {facts.Image} cannot be pulled on node {facts.Node} ({waiting.Reason}: {Cut(detail)}); set agent.image to an image that node can pull (with agent.image_pull_secrets for a private registry), or load it into the node's container runtime.";
        }

        // "failed to sync secret cache" / "configmap cache": the kubelet had not yet seen the agent's
        // token Secret, created a moment before (its watch catches up and the next sync starts the
        // container within a second or two) — still starting, not a failure (at the timeout: "creating its container").
        if (waiting is not null && s_configReasons.Contains(waiting.Reason ?? "") && !IsCacheSync(waiting.Message))
        {
            return $"The agent's container {facts.Container} in pod {facts.PodName} (namespace {facts.Namespace}) cannot be started ({waiting.Reason}: {Cut(waiting.Message)}); fix what the message names (a missing secret, service account or volume) in the agent's settings.";
        }

        var terminated = status?.State?.Terminated ?? (waiting?.Reason == "CrashLoopBackOff" ? status?.LastState?.Terminated : null);
        if (terminated is null)
        {
            return null;
        }

        var previous = status?.State?.Terminated is null;
        var log = await LogTailAsync(connection, facts, previous, cancellationToken).ConfigureAwait(false);
        var how = terminated.Reason == "OOMKilled"
            ? "was killed for using more memory than its limit (OOMKilled); raise the memory in agent.resources"
            : $"exited with code {terminated.ExitCode}{(string.IsNullOrEmpty(terminated.Reason) ? "" : $" ({terminated.Reason})")} before it answered";
        var said = log.Count == 0 ? "it logged nothing" : $"its last log lines: {string.Join(" | ", log)}";
        return $"The agent in pod {facts.PodName} (namespace {facts.Namespace}) {how}; {said}; see `kubectl logs {facts.PodName} -n {facts.Namespace} -c {facts.Container}{(previous ? " --previous" : "")}`.";
    }

    /// <summary>What the agent was doing when the startup timeout ran out.</summary>
    private static async Task<string> TimedOutAsync(KubeConnection connection, PodFacts facts, CancellationToken cancellationToken)
    {
        const string Start = "The agent did not start within agent.startup_timeout";
        var where = $"pod {facts.PodName} (namespace {facts.Namespace})";
        var scheduled = (facts.Pod.Status?.Conditions ?? []).FirstOrDefault(c => c.Type == "PodScheduled");
        if (facts.Status is null && string.IsNullOrEmpty(facts.Pod.Spec.NodeName) && scheduled?.Status != "True")
        {
            return $"{Start}: its {where} was still waiting to be scheduled; see `kubectl describe pod {facts.PodName} -n {facts.Namespace}`, or raise agent.startup_timeout.";
        }

        if (facts.Status?.State?.Running is { } running)
        {
            var log = await LogTailAsync(connection, facts, previous: false, cancellationToken).ConfigureAwait(false);
            var since = running.StartedAt is { } at ? $" since {at.ToUniversalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture)} UTC" : "";
            var said = log.Count == 0 ? "it logged nothing" : $"its last log lines: {string.Join(" | ", log)}";
            return $"{Start}: the agent has been running in {where} on node {facts.Node}{since} but did not answer on port {facts.Workload.Port}; {said}; see `kubectl logs {facts.PodName} -n {facts.Namespace} -c {facts.Container}`.";
        }

        var events = await EventsAsync(connection, facts.Namespace, "Pod", facts.PodName, facts.Pod.Metadata.Uid, cancellationToken).ConfigureAwait(false);
        var pulling = events.LastOrDefault(e => e.Reason is "Pulling" or "Pulled");
        if (pulling?.Reason == "Pulling")
        {
            return $"{Start}: node {facts.Node} was still pulling the agent's image {facts.Image} for {where}; raise agent.startup_timeout for a first pull, or load the image onto the node beforehand.";
        }

        var reason = facts.Status?.State?.Waiting?.Reason ?? "ContainerCreating";
        return $"{Start}: node {facts.Node} was still creating the agent's container in {where} ({reason}); see `kubectl describe pod {facts.PodName} -n {facts.Namespace}`, or raise agent.startup_timeout.";
    }

    private static string AdmissionRefused(AgentWorkload workload, string message)
    {
        var fix = message.Contains("exceeded quota", StringComparison.Ordinal)
            ? "free room in the namespace's ResourceQuota, fit agent.resources into it, or place the agent in another namespace with agent.namespace"
            : "satisfy the admission policy the message names (agent.resources, agent.labels, agent.annotations, privileged), or place the agent in another namespace with agent.namespace";
        var detail = Cut(message.StartsWith("Error creating: ", StringComparison.Ordinal) ? message["Error creating: ".Length..] : message);
        return $"The agent's Job {workload.Name} in namespace {workload.Namespace} never got a pod: admission refused it ({detail}); {fix}.";
    }

    /// <summary>The Job's newest pod (by creation), or the one <see cref="AgentWorkload.PodName"/> names.</summary>
    private static async Task<V1Pod?> JobPodAsync(KubeConnection connection, AgentWorkload workload, V1Job job, CancellationToken cancellationToken)
    {
        var ns = workload.Namespace;
        if (workload.PodName is { } named)
        {
            return await KubeApi.CallAsync(connection, "get", "pods", ns,
                () => connection.Client.CoreV1.ReadNamespacedPodAsync(named, ns, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }

        var pods = await KubeApi.CallAsync(connection, "list", "pods", ns,
            () => connection.Client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: $"controller-uid={job.Metadata.Uid}", cancellationToken: cancellationToken)).ConfigureAwait(false);
        return pods?.Items.OrderBy(p => p.Metadata.CreationTimestamp).LastOrDefault();
    }

    /// <summary>The events about one object, oldest first; empty when the context may not list events.</summary>
    private static async Task<IReadOnlyList<Corev1Event>> EventsAsync(KubeConnection connection, string ns, string kind, string name, string? uid, CancellationToken cancellationToken)
    {
        var selector = $"involvedObject.kind={kind},involvedObject.name={name}" + (uid is null ? "" : $",involvedObject.uid={uid}");
        try
        {
            var events = await KubeApi.CallAsync(connection, "list", "events", ns,
                () => connection.Client.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: selector, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return events?.Items.OrderBy(e => e.LastTimestamp ?? e.EventTime ?? e.Metadata.CreationTimestamp).ToList() ?? [];
        }
        catch (KubeException)
        {
            return [];
        }
    }

    /// <summary>The last <see cref="LogLines"/> non-empty lines of the agent's log; empty when there is none or it may not be read.</summary>
    private static async Task<IReadOnlyList<string>> LogTailAsync(KubeConnection connection, PodFacts facts, bool previous, CancellationToken cancellationToken)
    {
        try
        {
            var stream = await KubeApi.CallAsync(connection, "get", "pods/log", facts.Namespace,
                () => connection.Client.CoreV1.ReadNamespacedPodLogAsync(facts.PodName, facts.Namespace, container: facts.Container, previous: previous,
                    tailLines: LogLines * 2, limitBytes: 64 * 1024, cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (stream is null)
            {
                return [];
            }

            using var reader = new StreamReader(stream);
            var text = await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
            return text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Trim().Length > 0).TakeLast(LogLines).Select(l => Cut(l)).ToList();
        }
        catch (KubeException)
        {
            return [];
        }
    }

    private static string Image(V1Pod pod, string container)
        => pod.Spec.Containers.Concat<object>(pod.Spec.EphemeralContainers ?? []).Select(c => c switch
        {
            V1Container plain when plain.Name == container => plain.Image,
            V1EphemeralContainer ephemeral when ephemeral.Name == container => ephemeral.Image,
            _ => null,
        }).FirstOrDefault(i => i is not null) ?? "(unknown image)";

    /// <summary>A message from the cluster, one line, without its final period, at most <see cref="MessageLength"/> characters (its start and its end).</summary>
    internal static string Cut(string? message)
    {
        var line = string.Join(' ', (message ?? "").Split(['\n', '\r'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).TrimEnd('.');
        if (line.Length == 0)
        {
            return "no message";
        }

        // Both ends: the kubelet's pull errors nest causes, and the innermost ("connect: connection refused") comes last.
        return line.Length <= MessageLength ? line : line[..(MessageLength / 3)] + " … " + line[^(MessageLength - (MessageLength / 3) - 3)..];
    }

    /// <summary>The agent's pod and its container status (null until the kubelet reports one).</summary>
    private sealed record PodFacts(AgentWorkload Workload, V1Pod Pod, V1ContainerStatus? Status, string Image)
    {
        public string PodName => Pod.Metadata.Name;

        public string Namespace => Pod.Metadata.NamespaceProperty ?? Workload.Namespace;

        public string Container => Workload.Container;

        public string Node => string.IsNullOrEmpty(Pod.Spec.NodeName) ? "(not scheduled)" : Pod.Spec.NodeName;
    }
}
