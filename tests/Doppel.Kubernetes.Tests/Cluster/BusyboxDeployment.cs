namespace Doppel.Kubernetes.Tests.Cluster;

/// <summary>
/// The YAML of a Deployment of the test cluster's busybox image (<see cref="Doppel.Testing.KubeCluster.BusyboxImage"/>,
/// never pulled), in namespace <c>NS</c> (<c>TestNamespace.ApplyAsync</c> fills it in), labelled and
/// selected by <c>app: NAME</c>, one container named NAME, a 1 s grace period: the target most of the
/// cluster tests start from.
/// </summary>
internal static class BusyboxDeployment
{
    /// <summary>The container's command when none is given: it sleeps (a pod to be a target and nothing more).</summary>
    public const string SleepForever = """["sleep", "100000"]""";

    /// <summary>
    /// The Deployment <paramref name="name"/> with <paramref name="replicas"/> pods running
    /// <paramref name="command"/> (a YAML flow sequence); <paramref name="container"/> lines are added
    /// to the container (<c>env: [...]</c>, <c>ports: [...]</c>, <c>readinessProbe: {...}</c>) and
    /// <paramref name="pod"/> lines to the pod spec (<c>volumes: [...]</c>), each one line of YAML
    /// in flow style.
    /// </summary>
    public static string Yaml(string name, int replicas = 1, string command = SleepForever, IEnumerable<string>? container = null, IEnumerable<string>? pod = null)
    {
        var containerLines = string.Concat((container ?? []).Select(l => "\n        " + l));
        var podLines = string.Concat((pod ?? []).Select(l => "\n      " + l));
        return $$$"""
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: {{{name}}}, namespace: NS}
            spec:
              replicas: {{{replicas}}}
              selector: {matchLabels: {app: {{{name}}}}}
              template:
                metadata: {labels: {app: {{{name}}}}}
                spec:
                  terminationGracePeriodSeconds: 1
                  containers:
                  - name: {{{name}}}
                    image: {{{Doppel.Testing.KubeCluster.BusyboxImage}}}
                    imagePullPolicy: Never
                    command: {{{command}}}
            """ + containerLines + podLines;
    }
}
