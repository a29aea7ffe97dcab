namespace Doppel.Kubernetes.Tests.PortForward;

/// <summary>A bare Pod "echo" (label app=echo) of busybox: every connection to <see cref="Port"/> gets its bytes back (nc -ll -e cat).</summary>
internal static class EchoWorkload
{
    public const string Pod = "echo";

    public const int Port = 7000;

    /// <summary>A port nothing in the pod listens on.</summary>
    public const int ClosedPort = 7009;

    public static string Yaml { get; } = $$$"""
        apiVersion: v1
        kind: Pod
        metadata: {name: {{{Pod}}}, namespace: NS, labels: {app: {{{Pod}}}}}
        spec:
          terminationGracePeriodSeconds: 1
          containers:
          - name: echo
            image: {{{Doppel.Testing.KubeCluster.BusyboxImage}}}
            imagePullPolicy: Never
            command: ["nc", "-ll", "-p", "{{{Port}}}", "-e", "cat"]
            ports: [{containerPort: {{{Port}}}}]
            readinessProbe: {tcpSocket: {port: {{{Port}}}}, periodSeconds: 1}
        """;
}
