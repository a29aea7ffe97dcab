using Doppel.Config;
using Doppel.Kubernetes.Targets;
using Doppel.Kubernetes.Tests.Support;

namespace Doppel.Kubernetes.Tests.Targets;

/// <summary>
/// kubeconfig files, contexts and the three ways of logging in (client certificate, bearer token,
/// exec credential plugin) against the real API server (docs/kubernetes.md, "Connecting").
/// </summary>
[Collection(KubeCollection.Name)]
public sealed class KubeconfigTests(KubeFixture fixture) : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("dkube-config-");

    [Fact]
    public async Task KubeconfigListsTheFilesThatExistMergedAndTheContextsNamespaceIsTheDefault()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var missing = Path.Combine(_directory.FullName, "absent");
        var variables = Variables(("KUBECONFIG", $"{missing}::{fixture.Cluster.Kubeconfig}"));

        // The admin kubeconfig authenticates with a client certificate (embedded data).
        using var connection = KubeConnection.Open(new KubeConnectionOptions { Variables = variables });
        var pods = await new TargetLister(connection).ListAsync("kube-system", timeout.Token);

        Assert.Equal(("doppel-test", "default", "https://127.0.0.1:6443"), (connection.Context, connection.Namespace, connection.Server.TrimEnd('/')));
        Assert.Equal([fixture.Cluster.Kubeconfig], connection.Files);
        Assert.NotNull(pods);
    }

    [Fact]
    public void KubeconfigProblemsAreOneSentence()
    {
        var absent = Path.Combine(_directory.FullName, "absent");
        var home = _directory.FullName;

        Assert.Equal(
            $"The kubeconfig file {absent} (the kubeconfig key) does not exist.",
            Open(new KubeConnectionOptions { Kubeconfig = absent, Variables = Variables(("KUBECONFIG", fixture.Cluster.Kubeconfig)) }));
        Assert.Equal(
            $"None of the kubeconfig files KUBECONFIG names exists ({absent}, {absent}2).",
            Open(new KubeConnectionOptions { Variables = Variables(("KUBECONFIG", $"{absent}:{absent}2")) }));
        Assert.Equal(
            $"There is no kubeconfig: {home}/.kube/config does not exist and neither KUBECONFIG nor the kubeconfig key names one.",
            Open(new KubeConnectionOptions { Variables = Variables(("HOME", home)) }));
        Assert.Equal(
            $"The context 'staging' (kube_context) is not in the kubeconfig {fixture.Cluster.Kubeconfig}; the contexts are doppel-test.",
            Open(new KubeConnectionOptions { Kubeconfig = fixture.Cluster.Kubeconfig, Context = "staging", Variables = Variables() }));

        var garbage = Path.Combine(_directory.FullName, "garbage");
        File.WriteAllText(garbage, "clusters: [unclosed\n");
        Assert.StartsWith(
            $"The kubeconfig {garbage} cannot be read: ",
            Open(new KubeConnectionOptions { Kubeconfig = garbage, Variables = Variables() }), StringComparison.Ordinal);

        // A flow mapping cut off mid-scalar: YamlDotNet's scanner throws InvalidOperationException, not YamlException.
        var truncated = Path.Combine(_directory.FullName, "truncated");
        File.WriteAllText(truncated, "clusters: [{name: c, cluster: {server: https://127.0.0.1:1");
        Assert.StartsWith(
            $"The kubeconfig {truncated} cannot be read: ",
            Open(new KubeConnectionOptions { Kubeconfig = truncated, Variables = Variables() }), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABearerTokenAnExecPluginAndAcceptInvalidCertificatesLogIn_AndRbacRefusalsNameTheCheck()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var ns = await fixture.CreateNamespaceAsync("auth", timeout.Token);
        var token = await ServiceAccountKubeconfig.ViewerTokenAsync(ns, timeout.Token);
        var ca = await fixture.Cluster.KubectlCheckedAsync(["config", "view", "--raw", "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}"], timeout.Token);

        var withToken = Write("token", ServiceAccountKubeconfig.Text($"certificate-authority-data: {ca}", $"token: {token}", ns.Name));
        // The plugin prints an ExecCredential as `aws eks get-token` does.
        var plugin = Write("get-token", $$$"""
            #!/bin/sh
            printf '%s\n' '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"{{{token}}}"}}'
            """);
        File.SetUnixFileMode(plugin, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.UserWrite);
        var withExec = Write("exec", ServiceAccountKubeconfig.Text(
            $"certificate-authority-data: {ca}",
            $"""
            exec:
                  apiVersion: client.authentication.k8s.io/v1beta1
                  command: {plugin}
            """,
            ns.Name));
        var withoutCa = Write("insecure", ServiceAccountKubeconfig.Text("", $"token: {token}", ns.Name));

        foreach (var (file, accept) in new[] { (withToken, false), (withExec, false), (withoutCa, true) })
        {
            using var connection = KubeConnection.Open(new KubeConnectionOptions { Kubeconfig = file, AcceptInvalidCertificates = accept, Variables = Variables() });
            Assert.Equal(ns.Name, connection.Namespace);
            Assert.Empty(await new TargetLister(connection).ListAsync(ns.Name, timeout.Token));
        }

        using (var unverified = KubeConnection.Open(new KubeConnectionOptions { Kubeconfig = withoutCa, Variables = Variables() }))
        {
            var error = await Assert.ThrowsAsync<KubeException>(() => new TargetLister(unverified).ListAsync(ns.Name, timeout.Token));
            Assert.StartsWith("The API server https://127.0.0.1:6443 of context 'doppel-test' cannot be reached: ", error.Message, StringComparison.Ordinal);
        }

        using var limited = KubeConnection.Open(new KubeConnectionOptions { Kubeconfig = withToken, Namespace = "kube-system", Variables = Variables() });
        var refused = await Assert.ThrowsAsync<KubeException>(() => new TargetLister(limited).ListAsync("kube-system", timeout.Token));
        Assert.Matches(
            @"^The context 'doppel-test' is not allowed to list [a-z]+ in namespace kube-system; check with `kubectl auth can-i list [a-z]+ -n kube-system`\.$",
            refused.Message);
    }

    public void Dispose() => _directory.Delete(recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_directory.FullName, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static Func<string, string?> Variables(params (string Name, string Value)[] values)
        => name => values.FirstOrDefault(v => v.Name == name).Value;

    private static string Open(KubeConnectionOptions options)
        => Assert.Throws<KubeException>(() => KubeConnection.Open(options)).Message;
}
