using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using Doppel.Kubernetes.Tests.Cluster;
using Doppel.Kubernetes.Tests.Support;
using Doppel.Protocol.V1;
using Doppel.Testing;
using Grpc.Net.Client;

namespace Doppel.Kubernetes.Tests.Agent;

/// <summary>
/// The agent image (deploy/agent.Containerfile, scripts/agent-image.sh) on the real node: it holds
/// only the agent and the libraries it loads, and runs as a hostPID Job pod that serves a target pod.
/// </summary>
[Collection(KubeCollection.Name)]
public sealed class AgentImageTests(KubeFixture fixture)
{
    private const int AgentPort = 4999;
    private const long MaxImageBytes = 40L * 1024 * 1024;

    [Fact]
    public async Task ImageHoldsTheAgentAndOnlySharedLibrariesWithinFortyMegabytes()
    {
        var files = new List<(string Name, long Length)>();
        UnixFileMode? tmp = null;
        await using (var archive = File.OpenRead(fixture.AgentImageArchive))
        {
            var layers = await LayersAsync(archive);
            foreach (var layer in layers)
            {
                await using var gzip = new GZipStream(new MemoryStream(layer), CompressionMode.Decompress);
                await using var reader = new TarReader(gzip);
                while (await reader.GetNextEntryAsync() is { } entry)
                {
                    if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile)
                    {
                        files.Add(("/" + entry.Name.TrimStart('.', '/'), entry.Length));
                    }
                    else if (entry.EntryType == TarEntryType.Directory && entry.Name.Trim('.', '/') == "tmp")
                    {
                        tmp = entry.Mode;
                    }
                }
            }
        }

        Assert.Contains(files, f => f.Name == "/doppel-agent");

        // The incoming front makes its private socket directory under /tmp: a FROM-scratch image has
        // none unless it is made (without it every Subscribe failed in a cluster).
        Assert.True(tmp is not null, "the image has no /tmp");
        Assert.Equal(UnixFileMode.StickyBit | (UnixFileMode)0b111_111_111, tmp!.Value & (UnixFileMode.StickyBit | (UnixFileMode)0b111_111_111));
        Assert.Contains(files, f => f.Name == "/lib64/ld-linux-x86-64.so.2");
        Assert.Contains(files, f => f.Name.EndsWith("/libnftables.so.1", StringComparison.Ordinal));
        Assert.All(files.Where(f => f.Name != "/doppel-agent"), f => Assert.Matches(@"^/(lib|lib64|usr/lib)/.*\.so(\.\d+)*$", f.Name));
        Assert.InRange(files.Sum(f => f.Length), 1, MaxImageBytes);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AgentJobWithHostPidFindsTheTargetContainerAndAnswersThroughPortForward(bool privileged)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var ns = await fixture.CreateNamespaceAsync("agent", timeout.Token);
        await ns.ApplyAsync(WebWorkload.Yaml, timeout.Token);
        var target = await ns.ReadyPodAsync("web", timeout.Token);

        await ns.ApplyAsync(AgentJob(fixture.AgentImage, target.ContainerId, privileged), timeout.Token);
        var agent = await ns.ReadyPodAsync("doppel-agent", timeout.Token);
        await Poll.UntilAsync(
            async ct => (await ns.KubectlAsync(["logs", agent.Name], ct)).Contains($"listening on 127.0.0.1:{AgentPort}", StringComparison.Ordinal),
            "the agent's 'listening on' line",
            timeout.Token);
        await using var forward = await KubectlPortForward.StartAsync(fixture.Cluster, ns.Name, agent.Name, AgentPort, timeout.Token);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{forward.LocalPort}");

        // The agent found the container's process through the host's /proc (hostPID: its PID is
        // the host's), entered its UTS namespace (the hostname is the pod name) and reads its environment.
        var hello = await new AgentService.AgentServiceClient(channel).HelloAsync(new HelloRequest { MinVersion = 1, MaxVersion = 1 }, cancellationToken: timeout.Token);
        var hostname = await new HostnameService.HostnameServiceClient(channel).GetHostnameAsync(new GetHostnameRequest(), cancellationToken: timeout.Token);
        var environment = await new EnvironmentService.EnvironmentServiceClient(channel).GetEnvironmentAsync(new GetEnvironmentRequest(), cancellationToken: timeout.Token);

        Assert.Equal(target.ContainerId, hello.Target.ContainerId);
        Assert.Contains(target.ContainerId, await File.ReadAllTextAsync($"/proc/{hello.Target.Pid}/cgroup", timeout.Token), StringComparison.Ordinal);
        Assert.Equal(target.Name, hostname.Hostname);
        Assert.Contains(environment.Variables, v => v.Name == "WEB_GREETING" && v.Value == "from-the-pod-spec");
    }

    private static string AgentJob(string image, string containerId, bool privileged)
    {
        var privilege = privileged ? "true" : "false";
        return $$$"""
        apiVersion: batch/v1
        kind: Job
        metadata: {name: doppel-agent, namespace: NS}
        spec:
          backoffLimit: 0
          template:
            metadata: {labels: {app: doppel-agent}}
            spec:
              hostPID: true
              restartPolicy: Never
              terminationGracePeriodSeconds: 1
              containers:
              - name: agent
                image: {{{image}}}
                imagePullPolicy: Never
                args: ["--target", "container/{{{containerId}}}", "--listen", "127.0.0.1:{{{AgentPort}}}", "--idle-exit", "300"]
                securityContext:
                  privileged: {{{privilege}}}
                  capabilities: {add: [NET_ADMIN, SYS_ADMIN, SYS_PTRACE]}
        """;
    }

    /// <summary>The layer blobs of the OCI archive's one image (index.json → manifest → layers).</summary>
    private static async Task<List<byte[]>> LayersAsync(Stream archive)
    {
        var blobs = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        await using (var reader = new TarReader(archive))
        {
            while (await reader.GetNextEntryAsync() is { } entry)
            {
                if (entry.DataStream is not null)
                {
                    using var copy = new MemoryStream();
                    await entry.DataStream.CopyToAsync(copy);
                    blobs[entry.Name.TrimStart('.', '/')] = copy.ToArray();
                }
            }
        }

        static JsonElement Json(byte[] bytes) => JsonDocument.Parse(bytes).RootElement;
        static string Blob(JsonElement descriptor) => "blobs/" + descriptor.GetProperty("digest").GetString()!.Replace(':', '/');
        var manifest = Json(blobs[Blob(Json(blobs["index.json"]).GetProperty("manifests")[0])]);
        return [.. manifest.GetProperty("layers").EnumerateArray().Select(layer => blobs[Blob(layer)])];
    }
}
