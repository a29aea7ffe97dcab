using System.Diagnostics;
using Doppel.Protocol.V1;
using Grpc.Net.Client;

namespace Doppel.Agent.Tests;

/// <summary>Where the agent listens, who may connect, and SetAttributes confined to the container.</summary>
public sealed class ListenAndAttributesTests(ClusterFixture cluster) : IClassFixture<ClusterFixture>
{
    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    [Fact]
    public async Task TheUnixSocketIsOnlyForTheAgentsOwnUser()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.ProcessPod.Pid}", 5, Timeout);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(agent.SocketPath));
    }

    [Fact]
    public async Task OnLoopbackTcpItPrintsThePortItGotAndAnswers()
    {
        var info = new ProcessStartInfo(AgentProcess.Executable) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "--target", $"pid/{cluster.ProcessPod.Pid}", "--listen", "127.0.0.1:0", "--idle-exit", "5" })
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        try
        {
            var line = await process.StandardOutput.ReadLineAsync(Timeout);
            Assert.NotNull(line);
            Assert.Matches(@"^listening on 127\.0\.0\.1:[1-9][0-9]*$", line);

            using var channel = GrpcChannel.ForAddress("http://" + line["listening on ".Length..]);
            var hello = await new AgentService.AgentServiceClient(channel).HelloAsync(new HelloRequest { MinVersion = 1, MaxVersion = 1 }, cancellationToken: Timeout);
            Assert.Equal(cluster.ProcessPod.Pid, hello.Target.Pid);
        }
        finally
        {
            process.Kill(); // the agent this test started, by its PID
            await process.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task TheAgentDoesNotWatchTheDirectoryItWasStartedIn()
    {
        // A local agent starts in the developer's project directory; watching that tree would use
        // up the user's inotify watches (node_modules) that their own tools need.
        var project = Directory.CreateTempSubdirectory("doppel-agent-cwd-").FullName;
        for (var i = 0; i < 20; i++)
        {
            Directory.CreateDirectory(Path.Combine(project, "src", $"dir{i}"));
        }

        var info = new ProcessStartInfo(AgentProcess.Executable) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = project };
        foreach (var argument in new[] { "--target", $"pid/{cluster.ProcessPod.Pid}", "--listen", "unix:" + Path.Combine(project, "agent.sock"), "--idle-exit", "5" })
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        try
        {
            Assert.StartsWith("listening on unix:", await process.StandardOutput.ReadLineAsync(Timeout), StringComparison.Ordinal);
            await Task.Delay(TimeSpan.FromSeconds(1), Timeout); // a watcher would be adding watches by now

            Assert.Equal(0, InotifyWatches(process.Id));
        }
        finally
        {
            process.Kill(); // the agent this test started, by its PID
            await process.WaitForExitAsync();
            Directory.Delete(project, recursive: true);
        }
    }

    [Fact]
    public async Task SetAttributesChangesAPodFileAndNeverFollowsASymlinkOutOfTheContainer()
    {
        var pod = cluster.ContainerPod;
        await using var agent = await AgentProcess.StartAsync($"container/{pod.ContainerId}", 5, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        var files = new FileService.FileServiceClient(channel);
        var name = "/app/attrs-" + Guid.NewGuid().ToString("N")[..8];
        await File.WriteAllTextAsync(pod.HostPath(name), "x", Timeout);
        var hostShadowMode = File.GetUnixFileMode("/etc/shadow");
        var hostShadowTime = File.GetLastWriteTimeUtc("/etc/shadow");

        var changed = await files.SetAttributesAsync(
            new SetAttributesRequest { Path = name, FollowSymlinks = true, Mode = 0x180, Mtime = new Timespec { Seconds = 1_600_000_000 } },
            cancellationToken: Timeout);
        var throughLink = await files.SetAttributesAsync(
            new SetAttributesRequest { Path = "/app/shadow", FollowSymlinks = true, Mode = 0x1FF, Mtime = new Timespec { Seconds = 1_600_000_000 } },
            cancellationToken: Timeout);

        Assert.Null(changed.Error);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(pod.HostPath(name)));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_600_000_000).UtcDateTime, File.GetLastWriteTimeUtc(pod.HostPath(name)));
        Assert.Equal(2, throughLink.Error?.Errno); // ENOENT: /etc/shadow inside the container's root does not exist
        Assert.Equal(hostShadowMode, File.GetUnixFileMode("/etc/shadow"));
        Assert.Equal(hostShadowTime, File.GetLastWriteTimeUtc("/etc/shadow"));
        File.Delete(pod.HostPath(name));
    }

    private static int InotifyWatches(int pid)
    {
        var watches = 0;
        foreach (var fd in Directory.GetFiles($"/proc/{pid}/fd"))
        {
            if (new FileInfo(fd).LinkTarget == "anon_inode:inotify")
            {
                watches += File.ReadAllLines($"/proc/{pid}/fdinfo/{Path.GetFileName(fd)}").Count(l => l.StartsWith("inotify ", StringComparison.Ordinal));
            }
        }

        return watches;
    }
}
