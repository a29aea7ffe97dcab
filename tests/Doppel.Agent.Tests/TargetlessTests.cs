using System.Net;
using System.Text;
using Doppel.Agent.Tests.Outgoing;
using Doppel.Linux.Native;
using Doppel.Protocol;
using Doppel.Protocol.V1;
using Grpc.Core;

namespace Doppel.Agent.Tests;

/// <summary>
/// <c>--target targetless --netns NAME</c>: no process; traffic and DNS leave from the named
/// namespace, and its /etc/netns/NAME/{resolv.conf,hosts,hostname} stand in for the pod's files.
/// </summary>
public sealed class TargetlessTests(ClusterFixture cluster) : IClassFixture<ClusterFixture>
{
    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    [Fact]
    public async Task NamedNamespaceReachesAnotherPodAndResolvesClusterNames()
    {
        await using var agent = await AgentProcess.StartAsync("targetless", 5, Timeout, ["--netns", cluster.ProcessPod.NetworkNamespace]);
        using var channel = AgentProcess.Connect(agent.SocketPath);

        var hello = await new AgentService.AgentServiceClient(channel).HelloAsync(new HelloRequest { MinVersion = 1, MaxVersion = 1 }, cancellationToken: Timeout);
        Assert.True(hello.Target.Targetless);
        Assert.Equal(0, hello.Target.Pid);
        Assert.Equal("web", hello.Target.Hostname);
        Assert.Contains(ProtocolFeatures.OutgoingTcp, hello.Features);
        Assert.Contains(ProtocolFeatures.Dns, hello.Features);
        Assert.DoesNotContain(ProtocolFeatures.FilesWrite, hello.Features);

        var dns = await new DnsService.DnsServiceClient(channel).LookupAsync(new DnsLookupRequest { Name = "backend", Family = IpFamily.V4 }, cancellationToken: Timeout);
        Assert.Equal(DnsLookupStatus.Ok, dns.Status);
        var backend = new IPAddress(Assert.Single(dns.Addresses).Span);
        Assert.Equal(cluster.Backend.IP, backend);

        using var call = await TcpCall.ConnectAsync(channel, new IPEndPoint(backend, ClusterFixture.HttpPort), Timeout);
        Assert.Null(call.Result.Error);
        Assert.Equal(cluster.ProcessPod.IP, call.Result.LocalAddress.ToIPEndPoint().Address);
        await call.SendAsync("GET / HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n", Timeout);
        await call.HalfCloseAsync(Timeout);
        Assert.EndsWith("hello from backend\n", (await call.ReceiveAsync(Timeout)).Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServesOnlyTheNamespacesResolvConfAndHostsReadOnlyAndAnEmptyEnvironment()
    {
        var netns = cluster.ProcessPod.NetworkNamespace;
        await using var agent = await AgentProcess.StartAsync("targetless", 5, Timeout, ["--netns", netns]);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        var files = new FileService.FileServiceClient(channel);

        Assert.Equal(await File.ReadAllTextAsync($"/etc/netns/{netns}/resolv.conf", Timeout), await ReadAsync(files, "/etc/resolv.conf"));
        Assert.Equal(await File.ReadAllTextAsync($"/etc/netns/{netns}/hosts", Timeout), await ReadAsync(files, "/etc//./hosts"));
        var stat = await files.StatAsync(new StatRequest { Path = "/etc/hosts" }, cancellationToken: Timeout);
        Assert.True(stat.Stat.IsRegularFile);

        Assert.Equal(Errno.ENOENT, (await files.StatAsync(new StatRequest { Path = "/etc/passwd" }, cancellationToken: Timeout)).Error.Errno);
        Assert.Equal(Errno.ENOENT, (await files.StatAsync(new StatRequest { Path = "/etc" }, cancellationToken: Timeout)).Error.Errno);
        Assert.Equal(Errno.EROFS, (await files.TruncateAsync(new TruncateRequest { Path = "/etc/hosts" }, cancellationToken: Timeout)).Error.Errno);
        Assert.Equal(Errno.EROFS, (await files.UnlinkAsync(new UnlinkRequest { Path = "/etc/resolv.conf" }, cancellationToken: Timeout)).Error.Errno);
        Assert.Equal(Errno.ENOENT, (await files.MkdirAsync(new MkdirRequest { Path = "/tmp/x", Mode = 0x1ED }, cancellationToken: Timeout)).Error.Errno);

        var env = await new EnvironmentService.EnvironmentServiceClient(channel).GetEnvironmentAsync(new GetEnvironmentRequest(), cancellationToken: Timeout);
        Assert.Null(env.Error);
        Assert.Empty(env.Variables);
    }

    [Fact]
    public async Task UnknownNamespaceOrNetnsWithATargetExitWithCodeTwo()
    {
        var (missing, missingError) = await AgentProcess.RunToExitAsync(["--target", "targetless", "--netns", "doppel-no-such-ns", "--listen", "unix:/tmp/never-created.sock"], Timeout);
        Assert.Equal(2, missing);
        Assert.Contains("/run/netns/doppel-no-such-ns does not exist", missingError, StringComparison.Ordinal);

        var (withTarget, withTargetError) = await AgentProcess.RunToExitAsync(["--target", $"pid/{cluster.ProcessPod.Pid}", "--netns", "x", "--listen", "unix:/tmp/never-created.sock"], Timeout);
        Assert.Equal(2, withTarget);
        Assert.Contains("--netns only applies to --target targetless", withTargetError, StringComparison.Ordinal);
    }

    private static async Task<string> ReadAsync(FileService.FileServiceClient files, string path)
    {
        using var call = files.ReadFile(new ReadFileRequest { Path = path }, cancellationToken: Timeout);
        var text = new StringBuilder();
        await foreach (var message in call.ResponseStream.ReadAllAsync(Timeout))
        {
            Assert.Null(message.Error);
            text.Append(message.Data.ToStringUtf8());
        }

        return text.ToString();
    }
}
