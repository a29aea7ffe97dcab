namespace Doppel.Kubernetes.Tests.Support;

/// <summary>
/// A developer with little access: ServiceAccount <c>viewer</c> of a test namespace, bound to the
/// ClusterRole <c>view</c> there (get/list/watch of most namespaced kinds, nothing else), and
/// kubeconfigs that log in as it.
/// </summary>
internal static class ServiceAccountKubeconfig
{
    /// <summary>Creates the viewer ServiceAccount and its RoleBinding in NS and returns its token.</summary>
    public static async Task<string> ViewerTokenAsync(TestNamespace ns, CancellationToken cancellationToken)
    {
        await ns.KubectlAsync(["create", "serviceaccount", "viewer"], cancellationToken);
        await ns.KubectlAsync(["create", "rolebinding", "viewer", "--clusterrole=view", $"--serviceaccount={ns.Name}:viewer"], cancellationToken);
        var secret = "";
        await Poll.UntilAsync(
            async ct => (secret = await ns.KubectlAsync(["get", "serviceaccount", "viewer", "-o", "jsonpath={.secrets[0].name}"], ct)).Length > 0,
            "the viewer ServiceAccount's token",
            cancellationToken);
        var encoded = await ns.KubectlAsync(["get", "secret", secret, "-o", "jsonpath={.data.token}"], cancellationToken);
        return System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
    }

    /// <summary>
    /// A kubeconfig (context doppel-test, server https://127.0.0.1:6443, namespace NS) whose cluster
    /// entry gets <paramref name="clusterExtra"/> and whose user entry is <paramref name="user"/>.
    /// </summary>
    public static string Text(string clusterExtra, string user, string ns) => $"""
        apiVersion: v1
        kind: Config
        clusters:
        - name: doppel-test
          cluster:
            server: https://127.0.0.1:6443
            {clusterExtra}
        users:
        - name: viewer
          user:
            {user}
        contexts:
        - name: doppel-test
          context: {"{"}cluster: doppel-test, user: viewer, namespace: {ns}{"}"}
        current-context: doppel-test
        """;

    /// <summary>A file (in the temp directory; the caller deletes it) logging in as NS's viewer with the cluster's CA.</summary>
    public static async Task<string> ViewerAsync(TestNamespace ns, KubeFixture fixture, CancellationToken cancellationToken)
    {
        var token = await ViewerTokenAsync(ns, cancellationToken);
        var ca = await fixture.Cluster.KubectlCheckedAsync(["config", "view", "--raw", "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}"], cancellationToken);
        var path = Path.Combine(Path.GetTempPath(), $"doppel-viewer-{Guid.NewGuid():N}.kubeconfig");
        await File.WriteAllTextAsync(path, Text($"certificate-authority-data: {ca}", $"token: {token}", ns.Name), cancellationToken);
        return path;
    }
}
