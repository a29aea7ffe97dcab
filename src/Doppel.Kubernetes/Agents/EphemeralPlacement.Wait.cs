using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Doppel.Kubernetes.Agents;

/// <summary>Waiting for the agent's ephemeral container to run, from the pod's ephemeralContainerStatuses.</summary>
public sealed partial class EphemeralPlacement
{
    /// <summary>How often the pod is read while the container starts.</summary>
    private static readonly TimeSpan s_pollInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>The waiting reasons that mean the image cannot be had.</summary>
    private static readonly string[] s_imageFailures = ["ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName"];

    /// <summary>The waiting reasons that mean the runtime could not make the container.</summary>
    private static readonly string[] s_createFailures = ["CreateContainerError", "CreateContainerConfigError", "RunContainerError"];

    /// <summary>The container runs (<paramref name="Pod"/>), or the agent could not listen on its port (<paramref name="Failure"/>: why).</summary>
    private readonly record struct Outcome(V1Pod? Pod, string? Failure);

    /// <summary>
    /// Reads the pod until the container's status says running and its log has the agent's
    /// "listening on" line (without <c>get pods/log</c> permission the running container counts, and
    /// the first connection tells); throws one sentence when it cannot
    /// start (image, runtime, the agent's own exit) or <paramref name="timeout"/>
    /// (<c>agent.startup_timeout</c>) passes.
    /// </summary>
    private async Task<Outcome> WaitRunningAsync(string ns, string podName, V1EphemeralContainer container, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var last = "the API server has not shown it to the node's kubelet yet";
        var logReadable = true;
        var eventsReadable = true;
        try
        {
            while (true)
            {
                var pod = await KubeApi.CallAsync(connection, "get", "pods", ns,
                    () => connection.Client.CoreV1.ReadNamespacedPodAsync(podName, ns, cancellationToken: deadline.Token)).ConfigureAwait(false)
                    ?? throw new KubeException($"The pod {ns}/{podName} was deleted while the agent started in it; run doppel again to pick the target's current pod.");
                var outcome = Interpret(pod, container, ref last);
                if (outcome is { Pod: null })
                {
                    return outcome.Value;
                }

                if (outcome is null && eventsReadable)
                {
                    // The kubelet reports a failed pull in the container's status only at its next
                    // sync of the pod (up to its syncFrequency later), its event at once.
                    var failed = await PullFailureAsync(ns, podName, container, deadline.Token).ConfigureAwait(false);
                    eventsReadable = failed is not null;
                    if (failed is { Length: > 0 })
                    {
                        throw new KubeException(ImageFailure(container, $"pod {ns}/{podName}", pod.Spec?.NodeName, $"ErrImagePull: {failed}"));
                    }
                }

                if (outcome is not null)
                {
                    // Running is not listening yet: the agent says "listening on" once its port is bound.
                    var log = logReadable ? await LogAsync(ns, podName, container.Name, deadline.Token).ConfigureAwait(false) : null;
                    logReadable = log is not null;
                    if (log is null || log.Contains("listening on ", StringComparison.Ordinal))
                    {
                        return outcome.Value;
                    }

                    last = "it runs but the agent has not said it listens";
                }

                await Task.Delay(s_pollInterval, deadline.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new KubeException(
                $"The agent's ephemeral container {container.Name} in pod {ns}/{podName} did not start within {timeout.TotalSeconds:0} s (agent.startup_timeout): {last}.");
        }
    }

    /// <summary>What one reading of the pod says: running, could not listen, still starting (null, with <paramref name="last"/> updated), or a failure (thrown).</summary>
    private static Outcome? Interpret(V1Pod pod, V1EphemeralContainer container, ref string last)
    {
        var where = $"pod {pod.Metadata.NamespaceProperty}/{pod.Metadata.Name}";
        if (pod.Metadata.DeletionTimestamp is not null)
        {
            throw new KubeException($"The {where} is being deleted; run doppel again to pick the target's current pod.");
        }

        if (!(pod.Spec?.EphemeralContainers ?? []).Any(c => c.Name == container.Name))
        {
            throw new KubeException(
                $"The API server accepted the agent's ephemeral container but the {where} does not have it (the server takes another request shape than its discovery names); run without -e (agent.ephemeral).");
        }

        var status = (pod.Status?.EphemeralContainerStatuses ?? []).FirstOrDefault(s => s.Name == container.Name);
        var state = status?.State;
        if (state?.Running is not null)
        {
            return new Outcome(pod, null);
        }

        if (state?.Terminated is { } terminated)
        {
            var said = LastWords(terminated.Message);
            if (terminated.ExitCode == 1 && said.Contains("cannot listen", StringComparison.Ordinal))
            {
                return new Outcome(null, said);
            }

            throw new KubeException(
                $"The agent exited as it started in the {where} (exit code {terminated.ExitCode}{(string.IsNullOrEmpty(terminated.Reason) ? "" : ", " + terminated.Reason)})" +
                (said.Length > 0 ? $": {said}" : "."));
        }

        if (state?.Waiting is { } waiting && !string.IsNullOrEmpty(waiting.Reason))
        {
            var detail = string.IsNullOrEmpty(waiting.Message) ? waiting.Reason : $"{waiting.Reason}: {waiting.Message.TrimEnd('.')}";
            if (s_imageFailures.Contains(waiting.Reason))
            {
                throw new KubeException(ImageFailure(container, where, pod.Spec?.NodeName, detail));
            }

            if (s_createFailures.Contains(waiting.Reason))
            {
                throw new KubeException($"The container runtime could not start the agent's ephemeral container in the {where} ({detail}).");
            }

            last = $"it is waiting ({detail})";
        }
        else if (status is not null)
        {
            last = "it is being created";
        }

        return null;
    }

    /// <summary>
    /// The sentence for an agent image the node cannot have; the container stays: Kubernetes has
    /// no way to remove an ephemeral container from a pod.
    /// </summary>
    private static string ImageFailure(V1EphemeralContainer container, string where, string? node, string detail)
        => $"The agent image {container.Image} cannot be pulled for the {where} on node {node} ({detail}); set agent.image to an image that node can pull (docs/kubernetes.md, \"Agent image\"). " +
           $"The ephemeral container {container.Name} stays in the pod's spec (Kubernetes cannot remove one) until the pod is replaced.";

    /// <summary>
    /// The kubelet's message of a failed pull of <paramref name="container"/>'s image (its
    /// <c>Failed</c> event, "Failed to pull image …"), "" when there is none yet, null when the
    /// context may not list events.
    /// </summary>
    private async Task<string?> PullFailureAsync(string ns, string podName, V1EphemeralContainer container, CancellationToken cancellationToken)
    {
        // This container's (spec.ephemeralContainers{NAME}): an earlier session's failed pull of the same image is no answer now.
        var selector = $"involvedObject.kind=Pod,involvedObject.name={podName},reason=Failed";
        try
        {
            var events = await KubeApi.CallAsync(connection, "list", "events", ns,
                () => connection.Client.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: selector, cancellationToken: cancellationToken)).ConfigureAwait(false);
            var message = events?.Items
                .Where(e => (e.InvolvedObject?.FieldPath ?? "").EndsWith($"{{{container.Name}}}", StringComparison.Ordinal))
                .Select(e => e.Message ?? "")
                .FirstOrDefault(m => m.StartsWith("Failed to pull image", StringComparison.Ordinal));
            return message is null ? "" : AgentStartDiagnosis.Cut(message);
        }
        catch (KubeException)
        {
            return null;
        }
    }

    private Task<string?> LogAsync(string ns, string pod, string container, CancellationToken cancellationToken) =>
        AgentLogs.ReadAsync(connection, ns, pod, container, cancellationToken);

    /// <summary>
    /// The agent's last error line ("doppel-agent: …"), else its last line of output (the
    /// termination message is the log tail: FallbackToLogsOnError).
    /// </summary>
    private static string LastWords(string? message)
    {
        var lines = (message ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var line = lines.LastOrDefault(l => l.StartsWith("doppel-agent:", StringComparison.Ordinal)) ?? lines.LastOrDefault() ?? "";
        return line.Length <= 300 ? line : line[..300] + "…";
    }
}
