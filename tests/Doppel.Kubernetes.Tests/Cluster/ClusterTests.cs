using System.Net;
using Doppel.Kubernetes.Tests.Support;

namespace Doppel.Kubernetes.Tests.Cluster;

/// <summary>The test cluster itself: a Ready node, pods and Services reachable from this machine, cluster DNS in pods.</summary>
[Collection(KubeCollection.Name)]
public sealed class ClusterTests(KubeFixture fixture)
{
    [Fact]
    public async Task NodeIsReadyWithTheClusterVersion()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var cluster = fixture.Cluster;

        var status = await cluster.KubectlCheckedAsync(
            ["get", "node", cluster.NodeName, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status} {.status.nodeInfo.kubeletVersion} {.status.addresses[?(@.type==\"InternalIP\")].address}"],
            timeout.Token);

        Assert.Equal($"True v1.20.2 {cluster.NodeAddress}", status);
    }

    [Fact]
    public async Task DeploymentAndServiceAnswerFromTheHostByPodIpAndClusterIp()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var ns = await fixture.CreateNamespaceAsync("web", timeout.Token);
        await ns.ApplyAsync(WebWorkload.Yaml, timeout.Token);
        var pod = await ns.ReadyPodAsync("web", timeout.Token);
        var clusterIp = await ns.KubectlAsync(["get", "service", "web", "-o", "jsonpath={.spec.clusterIP}"], timeout.Token);
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });

        var byPodIp = await http.GetStringAsync($"http://{pod.IP}:{WebWorkload.ContainerPort}/", timeout.Token);
        var byClusterIp = await http.GetStringAsync($"http://{IPAddress.Parse(clusterIp)}:{WebWorkload.ServicePort}/", timeout.Token);

        Assert.Equal($"hello-from-{pod.Name}\n", byPodIp);
        Assert.Equal($"hello-from-{pod.Name}\n", byClusterIp);
    }

    [Fact]
    public async Task ClusterDnsResolvesAServiceNameFromAPod()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var ns = await fixture.CreateNamespaceAsync("dns", timeout.Token);
        await ns.ApplyAsync(WebWorkload.Yaml, timeout.Token);
        var pod = await ns.ReadyPodAsync("web", timeout.Token);
        var clusterIp = await ns.KubectlAsync(["get", "service", "web", "-o", "jsonpath={.spec.clusterIP}"], timeout.Token);

        // The full name, and the short one through the pod's search path; then a request by name
        // (busybox nc: its wget crashes).
        var full = await ns.KubectlAsync(["exec", pod.Name, "--", "nslookup", $"web.{ns.Name}.svc.cluster.local"], timeout.Token);
        var page = await ns.KubectlAsync(
            ["exec", pod.Name, "--", "sh", "-c", $"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc web {WebWorkload.ServicePort}"],
            timeout.Token);

        Assert.Contains($"Address: {clusterIp}", full, StringComparison.Ordinal);
        Assert.EndsWith($"hello-from-{pod.Name}\n", page, StringComparison.Ordinal);
    }
}
