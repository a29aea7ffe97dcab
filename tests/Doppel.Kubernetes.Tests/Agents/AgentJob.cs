using Doppel.Kubernetes.Agents;
using Doppel.Kubernetes.Tests.Support;
using Doppel.Testing;

namespace Doppel.Kubernetes.Tests.Agents;

/// <summary>
/// A Job shaped as doppel's agent Job (docs/kubernetes.md, "Agent image"): one pod, never
/// restarted (backoffLimit 0, restartPolicy Never), hostPID, the agent's capabilities, a TTL,
/// placed on the target's node through the scheduler (a node selector on the hostname, so taints
/// count), container "doppel-agent" — with the image, pull policy, command and scheduling a test
/// chooses, since the point is to make it fail.
/// </summary>
internal static class AgentJob
{
    public const string Container = "doppel-agent";

    public const int Port = 4567;

    /// <summary>Creates the Job in NS and returns the workload doppel would hand to the diagnosis.</summary>
    public static async Task<AgentWorkload> CreateAsync(
        TestNamespace ns, string name, string command, CancellationToken cancellationToken,
        string image = KubeCluster.BusyboxImage, string pullPolicy = "Never", string nodeSelector = "{kubernetes.io/hostname: doppel-node}")
    {
        await ns.ApplyAsync($$$"""
            apiVersion: batch/v1
            kind: Job
            metadata: {name: {{{name}}}, namespace: NS, labels: {app.kubernetes.io/name: doppel-agent}}
            spec:
              backoffLimit: 0
              ttlSecondsAfterFinished: 60
              template:
                metadata: {labels: {app.kubernetes.io/name: doppel-agent}}
                spec:
                  restartPolicy: Never
                  terminationGracePeriodSeconds: 0
                  hostPID: true
                  nodeSelector: {{{nodeSelector}}}
                  containers:
                  - name: {{{Container}}}
                    image: "{{{image}}}"
                    imagePullPolicy: {{{pullPolicy}}}
                    command: ["sh", "-c", "{{{command}}}"]
                    securityContext: {capabilities: {add: [NET_ADMIN, SYS_ADMIN, SYS_PTRACE]}}
            """, cancellationToken);
        return new AgentWorkload(AgentWorkloadKind.Job, ns.Name, name, Container, Port);
    }

    /// <summary>Asks the diagnosis every 200 ms until it has a sentence (not timed out), and returns it.</summary>
    public static async Task<string> ExplanationAsync(KubeConnection connection, AgentWorkload workload, CancellationToken cancellationToken)
    {
        string? sentence = null;
        await Poll.UntilAsync(
            async ct => (sentence = await AgentStartDiagnosis.ExplainAsync(connection, workload, timedOut: false, ct)) is not null,
            $"a sentence about {workload.Kind} {workload.Name}",
            cancellationToken);
        return sentence!;
    }
}
