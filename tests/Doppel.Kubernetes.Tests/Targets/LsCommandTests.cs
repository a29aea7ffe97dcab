using System.Text.Json;
using System.Text.RegularExpressions;
using Doppel.Cli;
using Doppel.Cli.Tests.Support;
using Doppel.Kubernetes.Tests.Support;

namespace Doppel.Kubernetes.Tests.Targets;

/// <summary><c>doppel ls</c> against a namespace with every target kind (docs/cli.md, "doppel ls").</summary>
[Collection(KubeCollection.Name)]
public sealed class LsCommandTests(KubeFixture fixture)
{
    [Fact]
    public async Task TextListsTheTargetsByKindWithTheirContainers()
    {
        var (ns, pods, replicaSets) = await NamespaceAsync();

        var (code, stdout, stderr) = await LsAsync(["ls", "-n", ns.Name]);
        var (emptyCode, emptyOut, emptyErr) = await LsAsync(["ls"]);

        Assert.True(code == 0, stderr);
        List<string> expected =
        [
            "deployment/meshed  app", "deployment/web  web", "statefulset/db  db", "cronjob/nightly  report",
            "job/batch  task", "job/nightly-manual  report", "service/web",
            .. replicaSets.Select(r => $"{r}  {Containers(r)}"),
            .. pods.Select(p => Containers(p) is { Length: > 0 } c ? $"{p}  {c}" : p),
        ];
        Assert.Equal(expected, stdout.TrimEnd('\n').Split('\n').Select(l => Regex.Replace(l, " {2,}", "  ")));

        // Without -n: the context's namespace (default), which has no targets.
        Assert.Equal((0, "", "Namespace default has no targets.\n"), (emptyCode, emptyOut, emptyErr));
    }

    [Fact]
    public async Task JsonIsMirrordsListOfTargetPathsAndRichOutputAddsTheNamespaces()
    {
        var (ns, pods, replicaSets) = await NamespaceAsync();

        var (code, stdout, stderr) = await LsAsync(["ls", "-n", ns.Name, "-o", "json"]);
        var (richCode, rich, richErr) = await LsAsync(["ls", "-n", ns.Name, "-o", "json"], ("MIRRORD_LS_RICH_OUTPUT", "true"));

        // A pod with one app container is pod/NAME; one with only sidecars is left out (as mirrord does).
        string[] expected =
        [
            "deployment/meshed", "deployment/web", "statefulset/db", "cronjob/nightly", "job/batch", "job/nightly-manual", "service/web",
            .. replicaSets, .. pods.Where(p => p != "pod/mesh-only"),
        ];
        Assert.True(code == 0, stderr);
        Assert.Equal(expected, JsonSerializer.Deserialize<string[]>(stdout));
        Assert.EndsWith("]\n", stdout, StringComparison.Ordinal);

        Assert.True(richCode == 0, richErr);
        using var document = JsonDocument.Parse(rich);
        Assert.Equal(ns.Name, document.RootElement.GetProperty("current_namespace").GetString());
        Assert.Contains(ns.Name, document.RootElement.GetProperty("namespaces").EnumerateArray().Select(n => n.GetString()));
        Assert.Contains("kube-system", document.RootElement.GetProperty("namespaces").EnumerateArray().Select(n => n.GetString()));
        Assert.Equal(expected, document.RootElement.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("path").GetString()));
        Assert.All(document.RootElement.GetProperty("targets").EnumerateArray(), t => Assert.True(t.GetProperty("available").GetBoolean()));
    }

    [Fact]
    public async Task TargetTypeKeepsOnlyThoseKindsAsMirrordsLsDoes()
    {
        var (ns, _, _) = await NamespaceAsync();

        var (code, stdout, stderr) = await LsAsync(["ls", "-n", ns.Name, "-o", "json", "-t", "deployment", "-t", "cronjob"]);
        var (envCode, fromEnv, envErr) = await LsAsync(["ls", "-n", ns.Name, "-o", "json"], ("MIRRORD_LS_TARGET_TYPES", "[\"statefulset\",\"service\"]"));
        var (badCode, badOut, badErr) = await LsAsync(["ls", "-n", ns.Name, "-o", "json"], ("MIRRORD_LS_TARGET_TYPES", "deployment"));
        var (flagCode, _, flagErr) = await LsAsync(["ls", "-n", ns.Name, "-t", "deployments"]);

        Assert.True(code == 0, stderr);
        Assert.Equal(["deployment/meshed", "deployment/web", "cronjob/nightly"], JsonSerializer.Deserialize<string[]>(stdout)!);
        Assert.True(envCode == 0, envErr);
        Assert.Equal(["statefulset/db", "service/web"], JsonSerializer.Deserialize<string[]>(fromEnv)!);
        Assert.Equal((2, ""), (badCode, badOut));
        Assert.StartsWith("error: MIRRORD_LS_TARGET_TYPES must be a JSON list of target kinds", badErr, StringComparison.Ordinal);
        Assert.Equal(2, flagCode);
        Assert.Contains("deployments", flagErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheNativeBinaryRunAsAnOrdinaryUserPrintsTheSameTextAndJson()
    {
        var (ns, _, _) = await NamespaceAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var directory = Directory.CreateTempSubdirectory("dkube-ls-");
        try
        {
            // nobody (65534) gets its own copies: the binary (a checkout may sit under a 0700 home)
            // and the kubeconfig, which only it may read.
            File.SetUnixFileMode(directory.FullName, (UnixFileMode)0x1ED);
            var binary = Path.Combine(directory.FullName, "doppel");
            File.Copy(RepoPaths.Doppel, binary);
            File.SetUnixFileMode(binary, (UnixFileMode)0x1ED);
            var kubeconfig = Path.Combine(directory.FullName, "kubeconfig");
            File.Copy(fixture.Cluster.Kubeconfig, kubeconfig);
            await Run.CheckedAsync(["chown", "65534:65534", kubeconfig], timeout.Token);
            File.SetUnixFileMode(kubeconfig, UnixFileMode.UserRead | UnixFileMode.UserWrite);

            async Task<string> AsNobodyAsync(params string[] args)
                => await Run.CheckedAsync(
                    ["env", "-i", $"KUBECONFIG={kubeconfig}", "HOME=/nonexistent", "PATH=/usr/bin:/bin",
                     "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", binary, .. args],
                    timeout.Token);

            var text = await AsNobodyAsync("ls", "-n", ns.Name);
            var json = await AsNobodyAsync("ls", "-n", ns.Name, "-o", "json");
            var (_, expectedText, _) = await LsAsync(["ls", "-n", ns.Name]);
            var (_, expectedJson, _) = await LsAsync(["ls", "-n", ns.Name, "-o", "json"]);

            Assert.Equal(expectedText, text);
            Assert.Equal(expectedJson, json);
            Assert.Contains("deployment/web", text, StringComparison.Ordinal);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task AnUnknownContextIsExitCode2AndAnUnreachableServerIs69()
    {
        var (code, stdout, stderr) = await LsAsync(["ls", "--context", "staging"]);
        var kubeconfig = await UnreachableKubeconfigAsync();
        int unreachable;
        string unreachableErr;
        try
        {
            (unreachable, _, unreachableErr) = await LsAsync(["ls"], ("KUBECONFIG", kubeconfig));
        }
        finally
        {
            File.Delete(kubeconfig);
        }

        Assert.Equal((2, ""), (code, stdout));
        Assert.Equal($"error: The context 'staging' (kube_context) is not in the kubeconfig {fixture.Cluster.Kubeconfig}; the contexts are doppel-test.\n", stderr);
        Assert.Equal(69, unreachable);
        Assert.StartsWith("error: The API server https://127.0.0.1:1 of context 'doppel-test' cannot be reached: ", unreachableErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMissingNamespaceIsExitCode69AndSaysSoWhereAnEmptyOneListsNothing()
    {
        // mirrord's ls lists a namespace that does not exist as empty (`[]`, exit 0): the API server
        // answers lists in it with empty lists. doppel tells the two apart (get namespaces).
        var missing = "ls-missing-" + Guid.NewGuid().ToString("N")[..6];

        var (code, stdout, stderr) = await LsAsync(["ls", "-n", missing]);
        var (jsonCode, json, jsonErr) = await LsAsync(["ls", "-n", missing, "-o", "json"]);

        var sentence = $"error: The namespace {missing} does not exist in context 'doppel-test'; check -n (target.namespace) and the context, or list the namespaces with `kubectl get namespaces`.\n";
        Assert.Equal((ExitCodes.Unavailable, "", sentence), (code, stdout, stderr));
        Assert.Equal((ExitCodes.Unavailable, "", sentence), (jsonCode, json, jsonErr));
    }

    /// <summary>A copy of the admin kubeconfig whose server is 127.0.0.1:1, where nothing listens.</summary>
    private async Task<string> UnreachableKubeconfigAsync()
    {
        var text = await File.ReadAllTextAsync(fixture.Cluster.Kubeconfig);
        var path = Path.Combine(Path.GetTempPath(), $"dkube-unreachable-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(path, text.Replace("https://127.0.0.1:6443", "https://127.0.0.1:1", StringComparison.Ordinal));
        return path;
    }

    /// <summary>The shared targets namespace, its ready pods (pod/NAME) and its ReplicaSets (replicaset/NAME), by name, as kubectl sees them.</summary>
    private async Task<(TestNamespace Ns, IReadOnlyList<string> Pods, IReadOnlyList<string> ReplicaSets)> NamespaceAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var ns = await fixture.SharedNamespaceAsync("targets", ct => TargetsWorkload.CreateAsync(fixture, ct));
        var ready = await ns.KubectlAsync(
            ["get", "pods", "-o", "jsonpath={range .items[?(@.status.phase==\"Running\")]}{.metadata.name} {.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}"],
            timeout.Token);
        var pods = ready.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.EndsWith(" True", StringComparison.Ordinal))
            .Select(l => "pod/" + l.Split(' ')[0]).Order(StringComparer.Ordinal).ToList();
        var replicaSets = (await ns.KubectlAsync(["get", "replicasets", "-o", "name"], timeout.Token))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(r => r.Replace("replicaset.apps/", "replicaset/", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToList();
        return (ns, pods, replicaSets);
    }

    /// <summary>The app container of the workload a pod or ReplicaSet (KIND/NAME) belongs to, by its name.</summary>
    private static string Containers(string target) => target.Split('/')[1] switch
    {
        var n when n.StartsWith("meshed-", StringComparison.Ordinal) => "app",
        var n when n.StartsWith("web-", StringComparison.Ordinal) => "web",
        var n when n.StartsWith("db-", StringComparison.Ordinal) => "db",
        var n when n == "rs" || n.StartsWith("rs-", StringComparison.Ordinal) => "worker",
        var n when n.StartsWith("batch-", StringComparison.Ordinal) => "task",
        var n when n.StartsWith("nightly-manual-", StringComparison.Ordinal) => "report",
        _ => "",
    };

    /// <summary>Runs doppel in this process with the admin kubeconfig (KUBECONFIG) unless VARIABLES say otherwise.</summary>
    private async Task<(int Code, string StdOut, string StdErr)> LsAsync(string[] args, params (string Name, string Value)[] variables)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var console = new TestConsole();
        var directory = Directory.CreateTempSubdirectory("dkube-ls-");
        try
        {
            string? Variable(string name) => variables.FirstOrDefault(v => v.Name == name).Value
                ?? (name == "KUBECONFIG" ? fixture.Cluster.Kubeconfig : name == "HOME" ? directory.FullName : null);
            var code = await DoppelCli.RunAsync(args, new CliEnvironment(Variable, directory.FullName, console, IsInteractive: false), timeout.Token);
            return (code, console.StdOut, console.StdErr);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
