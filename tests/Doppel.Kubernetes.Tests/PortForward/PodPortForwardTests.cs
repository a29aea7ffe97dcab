using System.Security.Cryptography;
using Doppel.Kubernetes.PortForward;
using Doppel.Kubernetes.Tests.Support;

namespace Doppel.Kubernetes.Tests.PortForward;

/// <summary>
/// <see cref="PodPortForward"/> against the real API server and kubelet: a busybox pod whose
/// port <see cref="EchoWorkload.Port"/> echoes every connection (docs/kubernetes.md, "Connection").
/// </summary>
[Collection(KubeCollection.Name)]
public sealed class PodPortForwardTests(KubeFixture fixture) : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("dkube-pf-");

    [Fact]
    public async Task BytesRoundTripExactly_OneLargeTransferAndManyConcurrentStreams()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var ns = await EchoNamespaceAsync();
        using var connection = KubeConnection.Open(new KubeConnectionOptions { Kubeconfig = fixture.Cluster.Kubeconfig });
        await using var forward = new PodPortForward(connection, ns.Name, EchoWorkload.Pod, EchoWorkload.Port);

        await using (var stream = await forward.ConnectAsync(timeout.Token))
        {
            var large = RandomNumberGenerator.GetBytes(16 * 1024 * 1024 + 17);
            Assert.Equal(large, await EchoAsync(stream, large, writeSize: 100_000, timeout.Token));
        }

        var payloads = Enumerable.Range(0, 24).Select(i => RandomNumberGenerator.GetBytes(256 * 1024 + i)).ToList();
        var echoed = await Task.WhenAll(payloads.Select(async payload =>
        {
            await using var stream = await forward.ConnectAsync(timeout.Token);
            return await EchoAsync(stream, payload, writeSize: 1000 + payload.Length % 7, timeout.Token);
        }));

        Assert.Equal("pod/" + ns.Name + "/echo:" + EchoWorkload.Port, forward.Address);
        for (var i = 0; i < payloads.Count; i++)
        {
            Assert.Equal(payloads[i], echoed[i]);
        }
    }

    [Fact]
    public async Task APortNothingListensOnFailsWithTheKubeletsConnectionRefused()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var ns = await EchoNamespaceAsync();
        using var connection = KubeConnection.Open(new KubeConnectionOptions { Kubeconfig = fixture.Cluster.Kubeconfig });
        await using var forward = new PodPortForward(connection, ns.Name, EchoWorkload.Pod, EchoWorkload.ClosedPort);

        // The kubelet dials once the WebSocket is up: its refusal comes on the error channel.
        var error = await Assert.ThrowsAsync<IOException>(async () =>
        {
            await using var stream = await forward.ConnectAsync(timeout.Token);
            _ = await stream.ReadAsync(new byte[16], timeout.Token);
        });

        Assert.StartsWith($"The port-forward to pod/{ns.Name}/echo:{EchoWorkload.ClosedPort} failed: ", error.Message, StringComparison.Ordinal);
        Assert.Contains("connection refused", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APodDeletedMidStreamEndsTheStream_ConnectFailsWhileItIsGone_AndWorksOnceItIsBack()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await using var ns = await fixture.CreateNamespaceAsync("pf-gone", timeout.Token);
        await ns.ApplyAsync(EchoWorkload.Yaml, timeout.Token);
        await ns.ReadyPodAsync(EchoWorkload.Pod, timeout.Token);
        using var connection = KubeConnection.Open(new KubeConnectionOptions { Kubeconfig = fixture.Cluster.Kubeconfig });
        await using var forward = new PodPortForward(connection, ns.Name, EchoWorkload.Pod, EchoWorkload.Port);
        await using var stream = await forward.ConnectAsync(timeout.Token);
        Assert.Equal("before"u8.ToArray(), await EchoAsync(stream, "before"u8.ToArray(), 6, timeout.Token));

        var read = stream.ReadAsync(new byte[16], timeout.Token).AsTask();
        await ns.KubectlAsync(["delete", "pod", EchoWorkload.Pod, "--grace-period=0", "--force", "--wait=true"], timeout.Token);

        // The read ends (0: the pod side closed; IOException: the WebSocket broke) instead of
        // waiting for data that cannot come; a hang runs into the test's timeout.
        var ended = await Record.ExceptionAsync(async () => Assert.Equal(0, await read));
        Assert.True(ended is null or IOException, $"The read ended with {ended}");
        var gone = await Assert.ThrowsAsync<IOException>(async () => await forward.ConnectAsync(timeout.Token));

        await ns.ApplyAsync(EchoWorkload.Yaml, timeout.Token);
        await ns.ReadyPodAsync(EchoWorkload.Pod, timeout.Token);
        await using var again = await forward.ConnectAsync(timeout.Token);

        Assert.Equal("after"u8.ToArray(), await EchoAsync(again, "after"u8.ToArray(), 5, timeout.Token));
        Assert.Equal($"The port-forward to pod/{ns.Name}/echo:{EchoWorkload.Port} failed: the API server answered 404: pods \"echo\" not found.", gone.Message);
    }

    [Fact]
    public async Task AServiceAccountTokenMayForwardWithTheRightRole_AndWithoutItIsToldTheCheck()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ns = await EchoNamespaceAsync();
        var allowed = await TokenKubeconfigAsync(ns, "pf-allowed", ["get", "create"], ["pods", "pods/portforward"], timeout.Token);
        var viewer = await TokenKubeconfigAsync(ns, "pf-viewer", ["get", "list"], ["pods"], timeout.Token);

        using (var connection = KubeConnection.Open(new KubeConnectionOptions { Kubeconfig = allowed }))
        {
            await using var forward = new PodPortForward(connection, ns.Name, EchoWorkload.Pod, EchoWorkload.Port);
            await using var stream = await forward.ConnectAsync(timeout.Token);
            var payload = RandomNumberGenerator.GetBytes(100_000);
            Assert.Equal(payload, await EchoAsync(stream, payload, 4096, timeout.Token));
        }

        using var limited = KubeConnection.Open(new KubeConnectionOptions { Kubeconfig = viewer });
        await using var refused = new PodPortForward(limited, ns.Name, EchoWorkload.Pod, EchoWorkload.Port);
        var error = await Assert.ThrowsAsync<KubeException>(async () => await refused.ConnectAsync(timeout.Token));
        Assert.Equal(
            $"The context 'doppel-test' is not allowed to create pods/portforward in namespace {ns.Name}; check with `kubectl auth can-i create pods/portforward -n {ns.Name}`.",
            error.Message);
    }

    public void Dispose() => _directory.Delete(recursive: true);

    private Task<TestNamespace> EchoNamespaceAsync() => fixture.SharedNamespaceAsync("pf-echo", async ct =>
    {
        var ns = await fixture.CreateNamespaceAsync("pf-echo", ct);
        await ns.ApplyAsync(EchoWorkload.Yaml, ct);
        await ns.ReadyPodAsync(EchoWorkload.Pod, ct);
        return ns;
    });

    /// <summary>Writes PAYLOAD in WRITESIZE pieces while reading as many bytes back; returns what came back.</summary>
    private static async Task<byte[]> EchoAsync(Stream stream, byte[] payload, int writeSize, CancellationToken cancellationToken)
    {
        var writer = Task.Run(async () =>
        {
            for (var offset = 0; offset < payload.Length; offset += writeSize)
            {
                await stream.WriteAsync(payload.AsMemory(offset, Math.Min(writeSize, payload.Length - offset)), cancellationToken);
            }
        }, cancellationToken);

        var received = new byte[payload.Length];
        var count = 0;
        while (count < received.Length)
        {
            var n = await stream.ReadAsync(received.AsMemory(count), cancellationToken);
            if (n == 0)
            {
                throw new EndOfStreamException($"The stream ended after {count} of {received.Length} bytes.");
            }

            count += n;
        }

        await writer;
        return received;
    }

    /// <summary>
    /// A ServiceAccount NAME of NS with a Role of VERBS on RESOURCES, and a kubeconfig that logs in
    /// with its token (CA checked).
    /// </summary>
    private async Task<string> TokenKubeconfigAsync(TestNamespace ns, string name, string[] verbs, string[] resources, CancellationToken cancellationToken)
    {
        await ns.KubectlAsync(["create", "serviceaccount", name], cancellationToken);
        await ns.KubectlAsync(["create", "role", name, "--verb=" + string.Join(',', verbs), "--resource=" + string.Join(',', resources)], cancellationToken);
        await ns.KubectlAsync(["create", "rolebinding", name, "--role=" + name, $"--serviceaccount={ns.Name}:{name}"], cancellationToken);
        var secret = "";
        await Poll.UntilAsync(
            async ct => (secret = await ns.KubectlAsync(["get", "serviceaccount", name, "-o", "jsonpath={.secrets[0].name}"], ct)).Length > 0,
            $"the {name} ServiceAccount's token",
            cancellationToken);
        var token = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(
            await ns.KubectlAsync(["get", "secret", secret, "-o", "jsonpath={.data.token}"], cancellationToken)));
        var ca = await fixture.Cluster.KubectlCheckedAsync(["config", "view", "--raw", "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}"], cancellationToken);
        var path = Path.Combine(_directory.FullName, name);
        await File.WriteAllTextAsync(path, $$"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: doppel-test
              cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: "{{ca}}"}
            users:
            - name: {{name}}
              user: {token: "{{token}}"}
            contexts:
            - name: doppel-test
              context: {cluster: doppel-test, user: {{name}}, namespace: {{ns.Name}}}
            current-context: doppel-test
            """, cancellationToken);
        return path;
    }
}
