using Doppel.Kubernetes.Tests.Cluster;
using Doppel.Kubernetes.Tests.Support;
using Doppel.Testing;

namespace Doppel.Kubernetes.Tests.Targets;

/// <summary>
/// One namespace with every target kind, shared by the target tests (made once, deleted with the
/// fixture): Deployment + Service "web" (WebWorkload), Deployment "meshed" (istio-proxy listed
/// first, then app), StatefulSet "db", ReplicaSet "rs", Job "batch", CronJob "nightly" (never
/// scheduled; Job "nightly-manual" made from it), Pod "unready" (Running, never ready), Pod
/// "stuck" (an image that is not on the node, pull policy Never), Pod "mesh-only" (sidecars
/// only), Service "external" (no selector).
/// </summary>
internal static class TargetsWorkload
{
    private const string Sleeper = """["sh", "-c", "exec sleep 3600"]""";

    public static string Yaml(string cronJobApiVersion) => WebWorkload.Yaml + $$$"""

        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: meshed, namespace: NS}
        spec:
          selector: {matchLabels: {app: meshed}}
          template:
            metadata: {labels: {app: meshed}}
            spec:
              terminationGracePeriodSeconds: 0
              containers:
              - {name: istio-proxy, image: {{{KubeCluster.BusyboxImage}}}, imagePullPolicy: Never, command: {{{Sleeper}}}}
              - {name: app, image: {{{KubeCluster.BusyboxImage}}}, imagePullPolicy: Never, command: {{{Sleeper}}}}
        ---
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {name: db, namespace: NS}
        spec:
          serviceName: db
          selector: {matchExpressions: [{key: app, operator: In, values: [db]}]}
          template:
            metadata: {labels: {app: db}}
            spec:
              terminationGracePeriodSeconds: 0
              containers: [{name: db, image: {{{KubeCluster.BusyboxImage}}}, imagePullPolicy: Never, command: {{{Sleeper}}}}]
        ---
        apiVersion: apps/v1
        kind: ReplicaSet
        metadata: {name: rs, namespace: NS}
        spec:
          replicas: 1
          selector: {matchLabels: {app: rs}}
          template:
            metadata: {labels: {app: rs}}
            spec:
              terminationGracePeriodSeconds: 0
              containers: [{name: worker, image: {{{KubeCluster.BusyboxImage}}}, imagePullPolicy: Never, command: {{{Sleeper}}}}]
        ---
        apiVersion: batch/v1
        kind: Job
        metadata: {name: batch, namespace: NS}
        spec:
          template:
            spec:
              restartPolicy: Never
              terminationGracePeriodSeconds: 0
              containers: [{name: task, image: {{{KubeCluster.BusyboxImage}}}, imagePullPolicy: Never, command: {{{Sleeper}}}}]
        ---
        apiVersion: {{{cronJobApiVersion}}}
        kind: CronJob
        metadata: {name: nightly, namespace: NS}
        spec:
          schedule: "0 0 1 1 *"
          suspend: true
          jobTemplate:
            spec:
              template:
                spec:
                  restartPolicy: Never
                  terminationGracePeriodSeconds: 0
                  containers: [{name: report, image: {{{KubeCluster.BusyboxImage}}}, imagePullPolicy: Never, command: {{{Sleeper}}}}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: unready, namespace: NS, labels: {state: unready}}
        spec:
          terminationGracePeriodSeconds: 0
          containers:
          - name: app
            image: {{{KubeCluster.BusyboxImage}}}
            imagePullPolicy: Never
            command: {{{Sleeper}}}
            readinessProbe: {exec: {command: ["false"]}, periodSeconds: 1}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: stuck, namespace: NS, labels: {state: stuck}}
        spec:
          containers: [{name: app, image: "doppel.local/not-on-this-node:1", imagePullPolicy: Never}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: mesh-only, namespace: NS, labels: {app: mesh-only}}
        spec:
          terminationGracePeriodSeconds: 0
          containers:
          - {name: istio-proxy, image: {{{KubeCluster.BusyboxImage}}}, imagePullPolicy: Never, command: {{{Sleeper}}}}
          - {name: linkerd-proxy, image: {{{KubeCluster.BusyboxImage}}}, imagePullPolicy: Never, command: {{{Sleeper}}}}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: external, namespace: NS}
        spec:
          ports: [{port: 80}]
        """;

    /// <summary>Applies the workload in a new namespace PREFIX-RANDOM and waits until every pod that can be ready is.</summary>
    public static async Task<TestNamespace> CreateAsync(KubeFixture fixture, CancellationToken cancellationToken, string prefix = "targets")
    {
        var ns = await fixture.CreateNamespaceAsync(prefix, cancellationToken);
        var served = await fixture.Cluster.KubectlCheckedAsync(["api-versions"], cancellationToken);
        await ns.ApplyAsync(Yaml(served.Split('\n').Contains("batch/v1beta1") && !await ServesV1CronJobsAsync(fixture, cancellationToken) ? "batch/v1beta1" : "batch/v1"), cancellationToken);
        await ns.KubectlAsync(["create", "job", "nightly-manual", "--from=cronjob/nightly"], cancellationToken);
        foreach (var selector in new[] { "app=web", "app=meshed", "app=db", "app=rs", "job-name=batch", "job-name=nightly-manual", "app=mesh-only" })
        {
            await Poll.UntilAsync(
                async ct => (await ns.KubectlAsync(["get", "pods", "-l", selector, "-o", "jsonpath={.items[*].status.conditions[?(@.type==\"Ready\")].status}"], ct)).Contains("True", StringComparison.Ordinal),
                $"a ready pod with {selector} in {ns.Name}",
                cancellationToken);
        }

        await Poll.UntilAsync(
            async ct => (await ns.KubectlAsync(["get", "pod", "unready", "-o", "jsonpath={.status.phase}"], ct)) == "Running",
            "pod unready running",
            cancellationToken);
        return ns;
    }

    private static async Task<bool> ServesV1CronJobsAsync(KubeFixture fixture, CancellationToken cancellationToken)
        => (await fixture.Cluster.KubectlCheckedAsync(["api-resources", "--api-group=batch", "-o", "name"], cancellationToken))
            .Split('\n').Contains("cronjobs.batch") && (await fixture.Cluster.KubectlAsync(["get", "--raw", "/apis/batch/v1"], cancellationToken)).StandardOutput.Contains("\"cronjobs\"", StringComparison.Ordinal);
}
