using System.Text;
using Doppel.Linux.Native;
using Doppel.Protocol;
using Doppel.Protocol.V1;
using Grpc.Core;

namespace Doppel.Agent.Tests;

/// <summary>The real doppel-agent against the mini-cluster's pods, over a unix socket.</summary>
public sealed class AgentEndToEndTests(ClusterFixture cluster) : IClassFixture<ClusterFixture>
{

    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    [Fact]
    public async Task HelloNegotiatesVersionOneAndReportsTheProcessPodsPidAndHostname()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.ProcessPod.Pid}", 5, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        var hello = await new AgentService.AgentServiceClient(channel).HelloAsync(
            new HelloRequest { MinVersion = ProtocolVersion.MinimumSupported, MaxVersion = ProtocolVersion.Current },
            cancellationToken: Timeout);

        Assert.Equal(1u, hello.Version);
        Assert.True(VersionNegotiation.IsAcceptable(hello.Version));
        Assert.Equal(cluster.ProcessPod.Pid, hello.Target.Pid);
        Assert.Equal("web", hello.Target.Hostname);
        Assert.False(hello.Target.Targetless);
        Assert.Contains(ProtocolFeatures.FilesRead, hello.Features);
        Assert.Contains(ProtocolFeatures.FilesWrite, hello.Features);

        var ping = await new AgentService.AgentServiceClient(channel).PingAsync(new PingRequest { Sequence = 42 }, cancellationToken: Timeout);
        Assert.Equal(42u, ping.Sequence);
    }

    [Fact]
    public async Task ProcessPodEnvironmentAndHostnameAreThePods()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.ProcessPod.Pid}", 5, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);

        var env = await new EnvironmentService.EnvironmentServiceClient(channel).GetEnvironmentAsync(new GetEnvironmentRequest(), cancellationToken: Timeout);
        Assert.Null(env.Error);
        Assert.Contains(env.Variables, v => v.Name == "FOO" && v.Value == "bar");
        Assert.DoesNotContain(env.Variables, v => v.Name is "HOSTNAME" or "PATH" or "HOME"); // never imported

        var hostname = await new HostnameService.HostnameServiceClient(channel).GetHostnameAsync(new GetHostnameRequest(), cancellationToken: Timeout);
        Assert.Equal("web", hostname.Hostname);
    }

    [Fact]
    public async Task ContainerTargetIsFoundByItsIdAndServesItsEnvHostnameAndFiles()
    {
        var pod = cluster.ContainerPod;
        await using var agent = await AgentProcess.StartAsync($"container/{pod.ContainerId}", 5, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);

        var hello = await new AgentService.AgentServiceClient(channel).HelloAsync(
            new HelloRequest { MinVersion = 1, MaxVersion = 1 }, cancellationToken: Timeout);
        Assert.Equal(pod.Pid, hello.Target.Pid);
        Assert.Equal(pod.ContainerId, hello.Target.ContainerId);
        Assert.Equal("box", hello.Target.Hostname);

        var env = await new EnvironmentService.EnvironmentServiceClient(channel).GetEnvironmentAsync(new GetEnvironmentRequest(), cancellationToken: Timeout);
        Assert.Contains(env.Variables, v => v.Name == "DATABASE_URL" && v.Value == "postgres://db/app");

        var files = new FileService.FileServiceClient(channel);
        var stat = await files.StatAsync(new StatRequest { Path = "/app/config.json", FollowSymlinks = true }, cancellationToken: Timeout);
        Assert.Null(stat.Error);
        Assert.True(stat.Stat.IsRegularFile);
        Assert.Equal((ulong)ClusterFixture.ConfigJson.Length, stat.Stat.Size);

        Assert.Equal(ClusterFixture.ConfigJson, await ReadAllAsync(files, "/app/config.json"));

        var names = new List<string>();
        using (var list = files.ListDirectory(new ListDirectoryRequest { Path = "/app" }, cancellationToken: Timeout))
        {
            await foreach (var batch in list.ResponseStream.ReadAllAsync(Timeout))
            {
                Assert.Null(batch.Error);
                names.AddRange(batch.Entries.Select(e => e.Name));
                Assert.Contains(batch.Entries, e => e.Name == "shadow" && e.IsSymlink && e.LinkTarget == "/etc/shadow");
            }
        }

        Assert.Contains("config.json", names);

        var link = await files.ReadlinkAsync(new ReadlinkRequest { Path = "/app/passwd" }, cancellationToken: Timeout);
        Assert.Equal("../../../../../../../../../../../../../../../../etc/passwd", link.Target);
    }

    [Fact]
    public async Task ReadFileHonoursOffsetAndLength()
    {
        await using var agent = await AgentProcess.StartAsync($"container/{cluster.ContainerPod.ContainerId}", 5, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        var files = new FileService.FileServiceClient(channel);

        Assert.Equal(ClusterFixture.ConfigJson.Substring(2, 4), await ReadAllAsync(files, "/app/config.json", offset: 2, length: 4));
    }

    [Theory]
    [InlineData("/app/shadow")]
    [InlineData("/app/passwd")]
    [InlineData("/../../../../../../../../../../../../../../../../etc/passwd")]
    [InlineData("/app/../../../../../../../../../../../../../../../../etc/shadow")]
    [InlineData("/proc/self/root/etc/shadow")]
    public async Task PathsThatTryToLeaveTheContainerNeverReachHostFiles(string path)
    {
        await using var agent = await AgentProcess.StartAsync($"container/{cluster.ContainerPod.ContainerId}", 5, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        var files = new FileService.FileServiceClient(channel);

        var hostFile = path.EndsWith("shadow", StringComparison.Ordinal) ? "/etc/shadow" : "/etc/passwd";
        var hostContent = await File.ReadAllTextAsync(hostFile, Timeout);
        var containerPath = cluster.ContainerPod.HostPath(hostFile);
        var containerContent = File.Exists(containerPath) ? await File.ReadAllTextAsync(containerPath, Timeout) : null;

        using var call = files.ReadFile(new ReadFileRequest { Path = path }, cancellationToken: Timeout);
        var data = new StringBuilder();
        PosixError? error = null;
        await foreach (var message in call.ResponseStream.ReadAllAsync(Timeout))
        {
            error ??= message.Error;
            data.Append(message.Data.ToStringUtf8());
        }

        if (error is not null)
        {
            Assert.Contains(error.Errno, new[] { Errno.ENOENT, Errno.ELOOP, Errno.EXDEV, Errno.EACCES });
        }
        else
        {
            Assert.NotEqual(hostContent, data.ToString());
            Assert.Equal(containerContent, data.ToString());
        }
    }

    [Fact]
    public async Task MissingFileGivesEnoent()
    {
        await using var agent = await AgentProcess.StartAsync($"container/{cluster.ContainerPod.ContainerId}", 5, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        var files = new FileService.FileServiceClient(channel);

        var stat = await files.StatAsync(new StatRequest { Path = "/app/missing.json" }, cancellationToken: Timeout);
        Assert.Equal(Errno.ENOENT, stat.Error.Errno);

        using var call = files.ReadFile(new ReadFileRequest { Path = "/app/missing.json" }, cancellationToken: Timeout);
        var messages = await call.ResponseStream.ReadAllAsync(Timeout).ToListAsync(Timeout);
        Assert.Equal(Errno.ENOENT, Assert.Single(messages).Error.Errno);
    }

    [Fact]
    public async Task WriteCallsChangeTheContainersFiles()
    {
        var pod = cluster.ContainerPod;
        await using var agent = await AgentProcess.StartAsync($"container/{pod.ContainerId}", 5, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        var files = new FileService.FileServiceClient(channel);
        var dir = "/app/w" + Guid.NewGuid().ToString("N")[..8];

        Assert.Null((await files.MkdirAsync(new MkdirRequest { Path = dir, Mode = 0x1ED }, cancellationToken: Timeout)).Error);
        Assert.True(Directory.Exists(pod.HostPath(dir)));
        Assert.Equal(Errno.EEXIST, (await files.MkdirAsync(new MkdirRequest { Path = dir, Mode = 0x1ED }, cancellationToken: Timeout)).Error.Errno);

        var written = await WriteAsync(files, new WriteFileOpen { Path = dir + "/a.txt", Mode = 0x1A4, Create = true, Truncate = true }, "hello world");
        Assert.Null(written.Error);
        Assert.Equal(11u, written.BytesWritten);
        Assert.Equal(11u, written.Stat.Size);
        Assert.Equal("hello world", await File.ReadAllTextAsync(pod.HostPath(dir + "/a.txt"), Timeout));

        Assert.Equal(Errno.EEXIST, (await WriteAsync(files, new WriteFileOpen { Path = dir + "/a.txt", Create = true, Exclusive = true }, "x")).Error.Errno);

        Assert.Null((await files.TruncateAsync(new TruncateRequest { Path = dir + "/a.txt", Length = 5 }, cancellationToken: Timeout)).Error);
        Assert.Equal("hello", await File.ReadAllTextAsync(pod.HostPath(dir + "/a.txt"), Timeout));

        Assert.Null((await files.RenameAsync(new RenameRequest { From = dir + "/a.txt", To = dir + "/b.txt" }, cancellationToken: Timeout)).Error);
        Assert.True(File.Exists(pod.HostPath(dir + "/b.txt")));

        Assert.Equal(Errno.ENOTEMPTY, (await files.RmdirAsync(new RmdirRequest { Path = dir }, cancellationToken: Timeout)).Error.Errno);
        Assert.Null((await files.UnlinkAsync(new UnlinkRequest { Path = dir + "/b.txt" }, cancellationToken: Timeout)).Error);
        Assert.Null((await files.RmdirAsync(new RmdirRequest { Path = dir }, cancellationToken: Timeout)).Error);
        Assert.False(Directory.Exists(pod.HostPath(dir)));
    }

    [Fact]
    public async Task SymlinkAndLinkAreMadeInTheContainerAndFollowSymlinksOnlyInsideIt()
    {
        var pod = cluster.ContainerPod;
        await using var agent = await AgentProcess.StartAsync($"container/{pod.ContainerId}", 5, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        var files = new FileService.FileServiceClient(channel);
        var dir = "/app/l" + Guid.NewGuid().ToString("N")[..8];
        var name = "doppel-link-" + Guid.NewGuid().ToString("N")[..8];
        Directory.CreateDirectory(pod.HostPath(dir));
        await File.WriteAllTextAsync(pod.HostPath(dir + "/a.txt"), "a", Timeout);
        Directory.CreateDirectory(pod.HostPath("/tmp"));
        await File.WriteAllTextAsync(pod.HostPath("/tmp/" + name), "the container's", Timeout);
        await File.WriteAllTextAsync("/tmp/" + name, "the host's", Timeout);
        try
        {
            // The target is stored as given, never resolved; the name exists afterwards.
            Assert.Null((await files.SymlinkAsync(new SymlinkRequest { Target = "a.txt", Path = dir + "/s" }, cancellationToken: Timeout)).Error);
            Assert.Equal("a.txt", new FileInfo(pod.HostPath(dir + "/s")).LinkTarget);
            Assert.Equal(Errno.EEXIST, (await files.SymlinkAsync(new SymlinkRequest { Target = "b", Path = dir + "/s" }, cancellationToken: Timeout)).Error.Errno);
            Assert.Null((await files.SymlinkAsync(new SymlinkRequest { Target = "/tmp/" + name, Path = dir + "/out" }, cancellationToken: Timeout)).Error);

            // Without following, the symlink itself gets the new name; with, what it leads to inside the root.
            Assert.Null((await files.LinkAsync(new LinkRequest { From = dir + "/a.txt", To = dir + "/h" }, cancellationToken: Timeout)).Error);
            Assert.Equal(Inode(pod.HostPath(dir + "/a.txt")), Inode(pod.HostPath(dir + "/h")));
            Assert.Null((await files.LinkAsync(new LinkRequest { From = dir + "/s", To = dir + "/s2" }, cancellationToken: Timeout)).Error);
            Assert.Equal("a.txt", new FileInfo(pod.HostPath(dir + "/s2")).LinkTarget);
            Assert.Null((await files.LinkAsync(new LinkRequest { From = dir + "/out", To = dir + "/followed", FollowSymlinks = true }, cancellationToken: Timeout)).Error);
            Assert.Equal("the container's", await File.ReadAllTextAsync(pod.HostPath(dir + "/followed"), Timeout));
            Assert.Equal(Inode(pod.HostPath("/tmp/" + name)), Inode(pod.HostPath(dir + "/followed")));

            // The pod's errors: an existing name, a missing file, a directory.
            Assert.Equal(Errno.EEXIST, (await files.LinkAsync(new LinkRequest { From = dir + "/a.txt", To = dir + "/h" }, cancellationToken: Timeout)).Error.Errno);
            Assert.Equal(Errno.ENOENT, (await files.LinkAsync(new LinkRequest { From = dir + "/none", To = dir + "/x" }, cancellationToken: Timeout)).Error.Errno);
            Assert.Equal(Errno.EPERM, (await files.LinkAsync(new LinkRequest { From = dir, To = "/app/" + name }, cancellationToken: Timeout)).Error.Errno);

            // Escaping names stay inside the container.
            Assert.Null((await files.SymlinkAsync(new SymlinkRequest { Target = "x", Path = "/../../../tmp/" + name + ".s" }, cancellationToken: Timeout)).Error);
            Assert.False(Path.Exists("/tmp/" + name + ".s"));
            Assert.Equal("x", new FileInfo(pod.HostPath("/tmp/" + name + ".s")).LinkTarget);
        }
        finally
        {
            Directory.Delete(pod.HostPath(dir), recursive: true);
            File.Delete(pod.HostPath("/tmp/" + name));
            File.Delete(pod.HostPath("/tmp/" + name + ".s"));
            File.Delete("/tmp/" + name);
        }
    }

    private static ulong? Inode(string path) => Doppel.Linux.Processes.FileCalls.GetIdentity(path)?.Inode;

    [Fact]
    public async Task WritesThroughEscapingPathsStayInsideTheContainer()
    {
        var pod = cluster.ContainerPod;
        await using var agent = await AgentProcess.StartAsync($"container/{pod.ContainerId}", 5, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        var files = new FileService.FileServiceClient(channel);
        var name = "doppel-escape-" + Guid.NewGuid().ToString("N")[..8];
        Directory.CreateDirectory(pod.HostPath("/tmp"));

        var written = await WriteAsync(files, new WriteFileOpen { Path = "/app/../../../../tmp/" + name, Mode = 0x1A4, Create = true }, "inside");
        Assert.Null(written.Error);
        Assert.False(File.Exists("/tmp/" + name));
        Assert.Equal("inside", await File.ReadAllTextAsync(pod.HostPath("/tmp/" + name), Timeout));

        var mkdir = await files.MkdirAsync(new MkdirRequest { Path = "/../../../tmp/" + name + ".d", Mode = 0x1ED }, cancellationToken: Timeout);
        Assert.Null(mkdir.Error);
        Assert.False(Directory.Exists("/tmp/" + name + ".d"));
        Assert.True(Directory.Exists(pod.HostPath("/tmp/" + name + ".d")));

        File.Delete(pod.HostPath("/tmp/" + name));
        Directory.Delete(pod.HostPath("/tmp/" + name + ".d"));
    }

    [Fact]
    public async Task AgentExitsAfterItsLastClientLeft()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.ProcessPod.Pid}", 1, Timeout);
        using (var channel = AgentProcess.Connect(agent.SocketPath))
        {
            await new AgentService.AgentServiceClient(channel).PingAsync(new PingRequest { Sequence = 1 }, cancellationToken: Timeout);
        }

        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await agent.Process.WaitForExitAsync(deadline.Token);
        Assert.Equal(0, agent.Process.ExitCode);
        Assert.False(File.Exists(agent.SocketPath));
    }

    [Theory]
    [InlineData("pid/999999999", "No process with id 999999999")]
    [InlineData("container/0000000000000000000000000000000000000000000000000000000000000000", "No running process belongs to container")]
    [InlineData("node/x", "is not understood")]
    public async Task BadTargetExitsWithCodeTwoAndOneSentence(string target, string expected)
    {
        var (exitCode, error) = await AgentProcess.RunToExitAsync(["--target", target, "--listen", "unix:/tmp/never-created.sock"], Timeout);

        Assert.Equal(2, exitCode);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));
    }

    [Fact]
    public async Task AnUnknownLogLevelExitsWithCodeTwoNamingTheLevels()
    {
        var (exitCode, error) = await AgentProcess.RunToExitAsync(["--target", "targetless", "--listen", "unix:/tmp/never-created.sock", "--log-level", "loud"], Timeout);

        Assert.Equal(2, exitCode);
        Assert.Equal("doppel-agent: The log level 'loud' is not one of trace, debug, info, warn, error or off.", error.Trim());
    }

    [Theory]
    [InlineData("8080,0")]
    [InlineData("http")]
    [InlineData("8080,,9090")]
    [InlineData("65536")]
    public async Task HttpProbePortsThatAreNoPortsExitWithCodeTwoAndOneSentence(string ports)
    {
        var (exitCode, error) = await AgentProcess.RunToExitAsync(["--target", "targetless", "--listen", "unix:/tmp/never-created.sock", "--http-probe-ports", ports], Timeout);

        Assert.Equal(2, exitCode);
        Assert.Equal($"doppel-agent: The HTTP probe ports '{ports}' are not a comma-separated list of ports between 1 and 65535.", error.Trim());
    }

    private static async Task<WriteFileResponse> WriteAsync(FileService.FileServiceClient files, WriteFileOpen open, string text)
    {
        using var call = files.WriteFile(cancellationToken: Timeout);
        try
        {
            await call.RequestStream.WriteAsync(new WriteFileRequest { Open = open }, Timeout);
            await call.RequestStream.WriteAsync(new WriteFileRequest { Data = Google.Protobuf.ByteString.CopyFromUtf8(text) }, Timeout);
            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.OK)
        {
            // The agent answered a failed open (EEXIST, ...) before reading the data: the answer is the response.
        }

        return await call;
    }

    private static async Task<string> ReadAllAsync(FileService.FileServiceClient files, string path, ulong offset = 0, ulong length = 0)
    {
        using var call = files.ReadFile(new ReadFileRequest { Path = path, Offset = offset, Length = length }, cancellationToken: Timeout);
        var data = new StringBuilder();
        await foreach (var message in call.ResponseStream.ReadAllAsync(Timeout))
        {
            Assert.Null(message.Error);
            data.Append(message.Data.ToStringUtf8());
        }

        return data.ToString();
    }
}
