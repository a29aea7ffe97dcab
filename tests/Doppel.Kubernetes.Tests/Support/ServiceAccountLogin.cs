namespace Doppel.Kubernetes.Tests.Support;

/// <summary>
/// A ServiceAccount of a test namespace and a kubeconfig that logs in with its token (context
/// "doppel-test", the cluster's CA), written to a temporary file deleted on dispose: what a
/// developer with exactly the rights bound to that account sees.
/// </summary>
public sealed class ServiceAccountLogin : IDisposable
{
    private ServiceAccountLogin(string ns, string name, string kubeconfig)
    {
        Namespace = ns;
        Name = name;
        Kubeconfig = kubeconfig;
    }

    public string Namespace { get; }

    public string Name { get; }

    /// <summary>The account as <c>kubectl --as</c> names it: system:serviceaccount:NS:NAME.</summary>
    public string User => $"system:serviceaccount:{Namespace}:{Name}";

    /// <summary>The kubeconfig file (token embedded, default namespace the account's).</summary>
    public string Kubeconfig { get; }

    /// <summary>Creates ServiceAccount NAME in NS (with no rights of its own) and waits for its token.</summary>
    public static async Task<ServiceAccountLogin> CreateAsync(KubeFixture fixture, TestNamespace ns, string name, CancellationToken cancellationToken)
    {
        await ns.KubectlAsync(["create", "serviceaccount", name], cancellationToken);
        var secret = "";
        await Poll.UntilAsync(
            async ct => (secret = await ns.KubectlAsync(["get", "serviceaccount", name, "-o", "jsonpath={.secrets[0].name}"], ct)).Length > 0,
            $"the token of ServiceAccount {name}",
            cancellationToken);
        var token = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(
            await ns.KubectlAsync(["get", "secret", secret, "-o", "jsonpath={.data.token}"], cancellationToken)));
        var ca = await fixture.Cluster.KubectlCheckedAsync(["config", "view", "--raw", "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}"], cancellationToken);
        var path = Path.Combine(Path.GetTempPath(), $"dkube-sa-{Guid.NewGuid():N}.kubeconfig");
        await File.WriteAllTextAsync(path, $$"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: doppel-test
              cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: {{ca}}}
            users:
            - name: {{name}}
              user: {token: {{token}}}
            contexts:
            - name: doppel-test
              context: {cluster: doppel-test, user: {{name}}, namespace: {{ns.Name}}}
            current-context: doppel-test
            """, cancellationToken);
        return new ServiceAccountLogin(ns.Name, name, path);
    }

    /// <summary>A connection that logs in as this account.</summary>
    public KubeConnection Open() => KubeConnection.Open(new KubeConnectionOptions { Kubeconfig = Kubeconfig, Variables = _ => null });

    /// <summary>What <c>kubectl auth can-i ARGS --as USER</c> answers ("yes" or "no").</summary>
    public async Task<string> CanIAsync(KubeFixture fixture, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        // can-i exits 1 for "no": read its answer, not its exit code.
        var result = await fixture.Cluster.KubectlAsync(["auth", "can-i", .. arguments, "--as", User], cancellationToken);
        return result.StandardOutput.Trim();
    }

    public void Dispose() => File.Delete(Kubeconfig);
}
