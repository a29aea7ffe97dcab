namespace Doppel.Kubernetes.Tests.Cluster;

/// <summary>A Deployment of busybox httpd on 8080 (page "hello-from-POD") and its Service "web" on 80.</summary>
internal static class WebWorkload
{
    public const int ContainerPort = 8080;
    public const int ServicePort = 80;

    public static string Yaml { get; } = $$$"""
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: NS}
        spec:
          replicas: 1
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: web
                image: {{{Doppel.Testing.KubeCluster.BusyboxImage}}}
                imagePullPolicy: Never
                command: ["sh", "-c", "echo hello-from-$(hostname) > /var/www/index.html; exec httpd -f -p {{{ContainerPort}}} -h /var/www"]
                env: [{name: WEB_GREETING, value: from-the-pod-spec}]
                ports: [{containerPort: {{{ContainerPort}}}}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: NS}
        spec:
          selector: {app: web}
          ports: [{port: {{{ServicePort}}}, targetPort: {{{ContainerPort}}}}]
        """;
}
