using System.Diagnostics;
using System.Text;
using Doppel.Kubernetes.Agents;
using Doppel.Kubernetes.PortForward;
using Doppel.Kubernetes.Tests.Cluster;
using Doppel.Kubernetes.Tests.Support;
using Doppel.Protocol;
using Doppel.Protocol.V1;
using Grpc.Core;
using Grpc.Net.Client;
using k8s;
using Xunit.Abstractions;

namespace Doppel.Kubernetes.Tests.Exec;

/// <summary>
/// One agent per target pod, shared by every session on it (issue 12 items 1 and 2, docs/kubernetes.md
/// "Shared agents and their token"), on the real cluster: sessions join the agent another placed,
/// two that start at once still make one, the last to leave deletes it, a port-forward without the
/// token is refused, and a killed session's ended Job is swept by the next doppel.
/// </summary>
[Collection(KubeCollection.Name)]
public sealed class SharedAgentTests(KubeFixture fixture, ITestOutputHelper output)
{
    private const string DoppelLabel = "app.kubernetes.io/managed-by=doppel";

    private static readonly string s_bffYaml =
        BusyboxDeployment.Yaml("bff", container: ["env: [{name: BFF_GREETING, value: from-the-pod-spec}]"]) + "\n---\n" +
        BusyboxDeployment.Yaml("other", container: ["env: [{name: BFF_GREETING, value: from-the-other-pod}]"]);

    /// <summary>The program of every session: the pod's env and a Service by name, then (after a line on stdin) the Service again.</summary>
    private const string Program =
        "echo env=$BFF_GREETING; echo web=$(curl -sS --max-time 30 http://web/); read line; echo again=$(curl -sS --max-time 30 http://web/); exit 3";

    [Fact]
    public async Task TwoSessionsOnOnePodShareOneAgentAndTheLastToLeaveDeletesIt()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await using var ns = await fixture.CreateNamespaceAsync("share-two", timeout.Token);
        await ns.ApplyAsync(s_bffYaml + "\n---\n" + WebWorkload.Yaml, timeout.Token);
        await ns.ReadyPodAsync("bff", timeout.Token);
        var web = await ns.ReadyPodAsync("web", timeout.Token);

        await using var alice = Session.Start(fixture, ns.Name, "deployment/bff");
        await alice.WaitForLineAsync("web=", timeout.Token);
        await using var bob = Session.Start(fixture, ns.Name, "deployment/bff");
        await bob.WaitForLineAsync("web=", timeout.Token);

        Assert.Equal(["env=from-the-pod-spec", $"web=hello-from-{web.Name}"], alice.Lines);
        Assert.Equal(["env=from-the-pod-spec", $"web=hello-from-{web.Name}"], bob.Lines);
        Assert.DoesNotContain("joined the agent another session placed", alice.Stderr, StringComparison.Ordinal);
        Assert.Contains("joined the agent another session placed", bob.Stderr, StringComparison.Ordinal);
        Assert.Single(await NamesAsync(ns, "jobs", timeout.Token));
        Assert.Single(await NamesAsync(ns, "pods", timeout.Token));
        var job = (await NamesAsync(ns, "jobs", timeout.Token))[0];
        Assert.Equal([job.Replace("job.batch/", "secret/", StringComparison.Ordinal)], await NamesAsync(ns, "secrets", timeout.Token));
        output.WriteLine(alice.ReadyLine);
        output.WriteLine(bob.ReadyLine);

        // The first to leave leaves the agent to the other, who still reaches the Service through it.
        Assert.Equal(3, await alice.ReleaseAsync(timeout.Token));
        Assert.Equal([job], await NamesAsync(ns, "jobs", timeout.Token));
        Assert.Contains($"left the shared agent {ns.Name}/{job["job.batch/".Length..]}; it stays for the other session on it.", alice.Stderr, StringComparison.Ordinal);
        Assert.Equal(3, await bob.ReleaseAsync(timeout.Token));
        Assert.Equal($"again=hello-from-{web.Name}", bob.Lines[^1]);
        Assert.DoesNotContain("left the shared agent", bob.Stderr, StringComparison.Ordinal);

        // The last one deletes the Job, its pod and its Secret.
        await Poll.UntilAsync(
            async ct => (await NamesAsync(ns, "jobs,pods,secrets", ct)).Count == 0,
            "the shared agent's Job, pod and Secret gone after the last session",
            timeout.Token);
    }

    [Fact]
    public async Task ASessionStartedAsTheLastOneLeavesPlacesAFreshAgentNotTheEndingOnesPod()
    {
        // The last session deletes the Job, its pod and Secret; the next Job has the same name, and
        // for seconds the old pod (Failed, Terminating) still carries its job-name label.
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await using var ns = await fixture.CreateNamespaceAsync("share-again", timeout.Token);
        await ns.ApplyAsync(s_bffYaml + "\n---\n" + WebWorkload.Yaml, timeout.Token);
        await ns.ReadyPodAsync("bff", timeout.Token);
        var web = await ns.ReadyPodAsync("web", timeout.Token);

        for (var round = 0; round < 3; round++)
        {
            await using var session = Session.Start(fixture, ns.Name, "deployment/bff");
            await session.WaitForLineAsync("web=", timeout.Token);
            Assert.Equal($"web=hello-from-{web.Name}", session.Lines[^1]);
            Assert.DoesNotContain("joined the agent another session placed", session.Stderr, StringComparison.Ordinal);
            Assert.Equal(3, await session.ReleaseAsync(timeout.Token));
        }

        await Poll.UntilAsync(async ct => (await NamesAsync(ns, "jobs,pods,secrets", ct)).Count == 0, "the shared agent gone", timeout.Token);
    }

    [Fact]
    public async Task TwoSessionsStartedAtTheSameInstantPlaceOneAgent()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await using var ns = await fixture.CreateNamespaceAsync("share-race", timeout.Token);
        await ns.ApplyAsync(s_bffYaml + "\n---\n" + WebWorkload.Yaml, timeout.Token);
        await ns.ReadyPodAsync("bff", timeout.Token);
        var web = await ns.ReadyPodAsync("web", timeout.Token);

        await using var first = Session.Start(fixture, ns.Name, "deployment/bff");
        await using var second = Session.Start(fixture, ns.Name, "deployment/bff");
        await Task.WhenAll(first.WaitForLineAsync("web=", timeout.Token), second.WaitForLineAsync("web=", timeout.Token));

        Assert.Equal($"web=hello-from-{web.Name}", first.Lines[^1]);
        Assert.Equal($"web=hello-from-{web.Name}", second.Lines[^1]);
        Assert.Single(await NamesAsync(ns, "jobs", timeout.Token));
        Assert.Single(await NamesAsync(ns, "pods", timeout.Token));
        Assert.Equal(1, new[] { first, second }.Count(s => s.Stderr.Contains("joined the agent another session placed", StringComparison.Ordinal)));

        Assert.Equal(3, await first.ReleaseAsync(timeout.Token));
        Assert.Equal(3, await second.ReleaseAsync(timeout.Token));
        await Poll.UntilAsync(async ct => (await NamesAsync(ns, "jobs,pods,secrets", ct)).Count == 0, "the shared agent gone", timeout.Token);
    }

    /// <summary>
    /// The race two sessions placing one shared agent ran into (both failed, "secret … not found"):
    /// the second one's Secret create finds the first one's Secret, already owned by the Job just
    /// created. That Secret is the live agent's and must stay (every session reads its token from
    /// it); it was taken for stale (it has an owner) and deleted. Decided by
    /// <c>AwaitOtherPlacementAsync</c>, called here in that state. (A Secret whose owner is gone is
    /// not asked here: the garbage collector deletes it too, so the test could not tell who did.)
    /// </summary>
    [Fact]
    public async Task ASecretFoundWhilePlacingStaysWhenItsOwnerJobIsThere()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var ns = await fixture.CreateNamespaceAsync("share-secret", timeout.Token);
        using var connection = KubeConnection.Open(new KubeConnectionOptions { Kubeconfig = fixture.Cluster.Kubeconfig });
        await ns.ApplyAsync($$$"""
            apiVersion: batch/v1
            kind: Job
            metadata: {name: live, namespace: NS, labels: {app.kubernetes.io/managed-by: doppel}}
            spec:
              template:
                spec:
                  restartPolicy: Never
                  terminationGracePeriodSeconds: 0
                  containers:
                  - {name: agent, image: {{{Doppel.Testing.KubeCluster.BusyboxImage}}}, imagePullPolicy: Never, command: ["sleep", "100000"]}
            ---
            apiVersion: v1
            kind: Secret
            metadata: {name: live, namespace: NS, labels: {app.kubernetes.io/managed-by: doppel}}
            stringData: {token: t}
            """, timeout.Token);
        var uid = (await connection.Client.BatchV1.ReadNamespacedJobAsync("live", ns.Name, cancellationToken: timeout.Token)).Metadata.Uid;
        await ns.KubectlAsync(["patch", "secret", "live", "--type", "merge", "-p", $$$"""{"metadata":{"ownerReferences":[{"apiVersion":"batch/v1","kind":"Job","name":"live","uid":"{{{uid}}}"}]}}"""], timeout.Token);

        await new AgentPlacement(connection, new Doppel.Config.AgentConfig()).AwaitOtherPlacementAsync(ns.Name, "live", timeout.Token);

        Assert.Contains("secret/live", await NamesAsync(ns, "secrets", timeout.Token));
    }

    [Fact]
    public async Task APortForwardToTheAgentWithoutItsTokenIsRefused()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await using var ns = await fixture.CreateNamespaceAsync("share-token", timeout.Token);
        await ns.ApplyAsync(s_bffYaml + "\n---\n" + WebWorkload.Yaml, timeout.Token);
        await ns.ReadyPodAsync("bff", timeout.Token);
        await ns.ReadyPodAsync("web", timeout.Token);
        await using var session = Session.Start(fixture, ns.Name, "deployment/bff");
        await session.WaitForLineAsync("web=", timeout.Token);

        using var connection = KubeConnection.Open(new KubeConnectionOptions { Kubeconfig = fixture.Cluster.Kubeconfig });
        var jobName = (await NamesAsync(ns, "jobs", timeout.Token))[0]["job.batch/".Length..];
        var job = await connection.Client.BatchV1.ReadNamespacedJobAsync(jobName, ns.Name, cancellationToken: timeout.Token);
        var port = AgentPodSpecs.ListenPort(job.Spec.Template.Spec) ?? throw new InvalidOperationException("no --listen in the agent's Job");
        var pod = (await NamesAsync(ns, "pods", timeout.Token))[0]["pod/".Length..];
        var secret = await connection.Client.CoreV1.ReadNamespacedSecretAsync(jobName, ns.Name, cancellationToken: timeout.Token);
        var token = Encoding.UTF8.GetString(secret.Data[AgentSharing.TokenSecretKey]);
        Assert.Equal(43, token.Length); // 32 random bytes, base64url
        Assert.Contains(secret.Metadata.OwnerReferences ?? [], o => o.Kind == "Job" && o.Name == jobName && o.Uid == job.Metadata.Uid);

        await using var forward = new PodPortForward(connection, ns.Name, pod, port);
        using var channel = GrpcChannel.ForAddress("http://doppel-agent", new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { ConnectCallback = async (_, ct) => await forward.ConnectAsync(ct) },
        });
        var client = new AgentService.AgentServiceClient(channel);
        var hello = new HelloRequest { MinVersion = ProtocolVersion.MinimumSupported, MaxVersion = ProtocolVersion.Current, ClientVersion = "0.0.0", SessionName = "token-test" };

        var refused = await Assert.ThrowsAsync<RpcException>(() => client.HelloAsync(hello, cancellationToken: timeout.Token).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        var wrong = await Assert.ThrowsAsync<RpcException>(() => client.HelloAsync(hello, new Metadata { { AgentSharing.TokenMetadataKey, token[..^1] + (token[^1] == 'A' ? 'B' : 'A') } }, cancellationToken: timeout.Token).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, wrong.StatusCode);
        var answer = await client.HelloAsync(hello, new Metadata { { AgentSharing.TokenMetadataKey, token } }, cancellationToken: timeout.Token);
        Assert.Equal(ProtocolVersion.Current, answer.Version);

        Assert.Equal(3, await session.ReleaseAsync(timeout.Token));
    }

    [Fact]
    public async Task TheEndedJobOfAKilledSessionIsSweptByTheNextDoppel()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await using var ns = await fixture.CreateNamespaceAsync("share-sweep", timeout.Token);
        await ns.ApplyAsync(s_bffYaml + "\n---\n" + WebWorkload.Yaml, timeout.Token);
        await ns.ReadyPodAsync("bff", timeout.Token);
        await ns.ReadyPodAsync("other", timeout.Token);
        await ns.ReadyPodAsync("web", timeout.Token);

        string job;
        await using (var killed = Session.Start(fixture, ns.Name, "deployment/bff", "--agent-ttl", "1"))
        {
            await killed.WaitForLineAsync("web=", timeout.Token);
            job = (await NamesAsync(ns, "jobs", timeout.Token))[0];
            killed.KillDoppel();
        }

        // The agent ends its reconnect grace (20 s) after its session vanished (agent.ttl is for sessions
        // that said they end); on 1.20 nothing removes its Job.
        await Poll.UntilAsync(
            async ct => (await ns.KubectlAsync(["get", job, "-o", "jsonpath={.status.succeeded}"], ct)).Trim() == "1",
            "the killed session's agent ended (its Job Complete)",
            timeout.Token);

        await using var next = Session.Start(fixture, ns.Name, "deployment/other");
        await next.WaitForLineAsync("web=", timeout.Token);
        Assert.Equal("env=from-the-other-pod", next.Lines[0]);
        var left = await NamesAsync(ns, "jobs,secrets", timeout.Token);
        Assert.DoesNotContain(job, left);
        Assert.DoesNotContain(job.Replace("job.batch/", "secret/", StringComparison.Ordinal), left);

        Assert.Equal(3, await next.ReleaseAsync(timeout.Token));
        await Poll.UntilAsync(async ct => (await NamesAsync(ns, "jobs,pods,secrets", ct)).Count == 0, "nothing of doppel left", timeout.Token);
    }

    /// <summary>The names (kind/name) of doppel's objects of <paramref name="kinds"/> in the namespace.</summary>
    private static async Task<List<string>> NamesAsync(TestNamespace ns, string kinds, CancellationToken cancellationToken) =>
        [.. (await ns.KubectlAsync(["get", kinds, "-l", DoppelLabel, "-o", "name"], cancellationToken)).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    /// <summary>
    /// One <c>doppel exec</c> running <see cref="Program"/> (as root, with the cluster's kubeconfig):
    /// its output lines as they come; a line on its stdin lets the program go on to its end.
    /// </summary>
    private sealed class Session : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly List<string> _lines = [];
        private readonly StringBuilder _stderr = new();
        private readonly Lock _lock = new();

        private Session(Process process)
        {
            _process = process;
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is { } line)
                {
                    lock (_lock)
                    {
                        _lines.Add(line);
                    }
                }
            };
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is { } line)
                {
                    lock (_lock)
                    {
                        _stderr.AppendLine(line);
                    }
                }
            };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public IReadOnlyList<string> Lines
        {
            get
            {
                lock (_lock)
                {
                    return [.. _lines];
                }
            }
        }

        public string Stderr
        {
            get
            {
                lock (_lock)
                {
                    return _stderr.ToString();
                }
            }
        }

        /// <summary>doppel's "agent ready (…)" line.</summary>
        public string ReadyLine => Stderr.Split('\n').FirstOrDefault(l => l.Contains("agent ready (", StringComparison.Ordinal)) ?? "(no agent ready line)";

        public static Session Start(KubeFixture fixture, string ns, string target, params string[] more)
        {
            var info = new ProcessStartInfo(RepoPaths.Doppel) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
            foreach (var argument in (string[])["exec", "-t", target, "-n", ns, "-i", fixture.AgentImage, .. more, "--", "/bin/sh", "-c", Program])
            {
                info.ArgumentList.Add(argument);
            }

            foreach (var name in (string[])["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"])
            {
                info.Environment.Remove(name);
            }

            info.Environment["KUBECONFIG"] = fixture.Cluster.Kubeconfig;
            return new Session(Process.Start(info) ?? throw new InvalidOperationException("doppel could not be started."));
        }

        public Task WaitForLineAsync(string prefix, CancellationToken cancellationToken) =>
            Poll.UntilAsync(
                _ =>
                {
                    if (_process.HasExited && !Lines.Any(l => l.StartsWith(prefix, StringComparison.Ordinal)))
                    {
                        throw new InvalidOperationException($"doppel exited with {_process.ExitCode} before printing '{prefix}':\n{string.Join('\n', Lines)}\n{Stderr}");
                    }

                    return Task.FromResult(Lines.Any(l => l.StartsWith(prefix, StringComparison.Ordinal)));
                },
                $"a line '{prefix}…' from doppel exec",
                cancellationToken);

        /// <summary>Lets the program go on to its end; returns doppel's exit code.</summary>
        public async Task<int> ReleaseAsync(CancellationToken cancellationToken)
        {
            await _process.StandardInput.WriteLineAsync("go");
            _process.StandardInput.Close();
            await _process.WaitForExitAsync(cancellationToken);
            _process.WaitForExit(); // the output's last lines
            return _process.ExitCode;
        }

        /// <summary>SIGKILL to doppel alone: nothing of it runs to tidy up.</summary>
        public void KillDoppel()
        {
            _process.Kill(entireProcessTree: false);

            // The int overload waits for the process only: WaitForExit() would also wait for the end of
            // its output, which the program (still running, holding the pipes) never gives.
            if (!_process.WaitForExit(60_000))
            {
                throw new InvalidOperationException("doppel did not end within 60 s of SIGKILL.");
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync(CancellationToken.None);
            }

            try
            {
                _process.StandardInput.Close(); // the program of a killed doppel reads EOF and ends
            }
            catch (IOException)
            {
            }

            _process.Dispose();
        }
    }
}
