using Doppel.Interception.Remote;
using Doppel.Linux.Native;
using Doppel.Protocol;
using Doppel.Session.Files;

namespace Doppel.Session.Tests.Files;

/// <summary>
/// Agent round trips of the write path against the real agent (issue 13): a write-back is one call
/// that also sets the copy's mode and mtime, a granted lock brings the pod file's stat so the
/// refresh at the lock makes no Stat, a create is one call that answers open(O_CREAT)'s errnos;
/// an agent without the features gets today's calls, with the same results.
/// </summary>
public sealed partial class FileSyncTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AWriteBackIsOneAgentCallThatLeavesThePodFileWithTheCopysModeAndMtime(bool olderAgent)
    {
        await using var pod = await PodAsync();
        if (olderAgent)
        {
            pod.WithoutFeatures(ProtocolFeatures.FilesWriteAttributes);
        }

        await using var files = new FileSync(pod.Remote, report: _ => { });
        var path = $"/app/attributes-{Guid.NewGuid():N}.txt";
        var time = new DateTime(2021, 3, 4, 5, 6, 7, DateTimeKind.Utc).AddTicks(1234560);
        const UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
        try
        {
            MarkWrittenInItsDirectory(files, path);
            var local = files.LocalPath(path);
            await File.WriteAllTextAsync(local, "with its mode and time\n");
            File.SetUnixFileMode(local, mode);
            File.SetLastWriteTimeUtc(local, time);

            var before = pod.Remote.FileCalls;
            await files.FlushAsync(path, Timeout);
            var calls = pod.Remote.FileCalls - before;

            AssertSentToThePod(files, path, "with its mode and time\n");
            Assert.Equal(mode, File.GetUnixFileMode(cluster.Box.HostPath(path)));
            Assert.Equal(time, File.GetLastWriteTimeUtc(cluster.Box.HostPath(path)));
            Assert.Equal(olderAgent ? 2 : 1, calls); // WriteFile (+ SetAttributes for an older agent)
        }
        finally
        {
            File.Delete(cluster.Box.HostPath(path));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ALockBringsThePodFilesStatSoTheRefreshAtTheLockNeedsNoStat(bool olderAgent)
    {
        await using var pod = await PodAsync();
        if (olderAgent)
        {
            pod.WithoutFeatures(ProtocolFeatures.FilesLockStat);
        }

        await using var files = new FileSync(pod.Remote, report: _ => { });
        var path = $"/app/locked-{Guid.NewGuid():N}.db";
        await File.WriteAllTextAsync(cluster.Box.HostPath(path), "v1\n");
        var owner = $"posix:{Environment.ProcessId}:{path}";
        try
        {
            var local = await files.FetchAsync(path, Timeout);
            await File.WriteAllTextAsync(cluster.Box.HostPath(path), "changed in the pod\n");

            var before = pod.Remote.FileCalls;
            files.LockRequested(path);
            var granted = await pod.Remote.LockAndStatAsync(path, new RemoteLock(RemoteLockKind.Posix, owner, 1, 0, 0, Wait: false, Test: false), Timeout);
            await files.RefreshAtLockAsync(path, granted.Stat, Timeout);
            var calls = pod.Remote.FileCalls - before;

            Assert.Equal("changed in the pod\n", await File.ReadAllTextAsync(local));
            Assert.Equal(olderAgent, granted.Stat is null);
            Assert.Equal(olderAgent ? null : (long?)"changed in the pod\n".Length, granted.Stat?.Size);
            Assert.Equal(olderAgent ? 3 : 2, calls); // Lock (+ Stat for an older agent), then ReadFile of the change
        }
        finally
        {
            await pod.Remote.ReleaseLocksAsync([owner], Timeout);
            File.Delete(cluster.Box.HostPath(path));
        }
    }

    [Fact]
    public async Task ACreateIsOneAgentCallThatAnswersOpensErrnosAndTheFilesStat()
    {
        await using var pod = await PodAsync();
        var name = $"created-{Guid.NewGuid():N}";
        var path = "/app/" + name;
        var link = path + ".link";
        var dangling = path + ".dangling";
        File.CreateSymbolicLink(cluster.Box.HostPath(link), name);
        File.CreateSymbolicLink(cluster.Box.HostPath(dangling), name + ".target");
        try
        {
            var before = pod.Remote.FileCalls;
            var made = await pod.Remote.CreateOrGetEntryAsync(path, 0x1A0, exclusive: true, followSymlinks: true, Timeout);
            Assert.Equal(1, pod.Remote.FileCalls - before);
            Assert.True(made!.Created);
            Assert.Equal(RemoteEntryKind.File, made.Entry.Kind);
            Assert.Equal(0x1A0, made.Entry.Mode & 0xfff);
            Assert.Equal(0, new FileInfo(cluster.Box.HostPath(path)).Length);

            await File.WriteAllTextAsync(cluster.Box.HostPath(path), "kept\n");
            var again = await pod.Remote.CreateOrGetEntryAsync(path, 0x1A4, exclusive: false, followSymlinks: true, Timeout);
            Assert.False(again!.Created);
            Assert.Equal(5, again.Entry.Size);
            Assert.Equal("kept\n", await File.ReadAllTextAsync(cluster.Box.HostPath(path)));

            var symlink = await pod.Remote.CreateOrGetEntryAsync(link, 0x1A4, exclusive: false, followSymlinks: false, Timeout);
            Assert.Equal(RemoteEntryKind.Symlink, symlink!.Entry.Kind);
            Assert.False(symlink.Created);

            // open(O_CREAT) through a dangling symlink makes the file it names; O_EXCL refuses it.
            var throughDangling = await pod.Remote.CreateOrGetEntryAsync(dangling, 0x1A4, exclusive: false, followSymlinks: true, Timeout);
            Assert.True(throughDangling!.Created);
            Assert.True(File.Exists(cluster.Box.HostPath(path + ".target")));

            Assert.Equal(Errno.EEXIST, (await Assert.ThrowsAsync<RemoteFileException>(async () => await pod.Remote.CreateOrGetEntryAsync(path, 0x1A4, exclusive: true, followSymlinks: true, Timeout))).Errno);
            Assert.Equal(Errno.EEXIST, (await Assert.ThrowsAsync<RemoteFileException>(async () => await pod.Remote.CreateOrGetEntryAsync(link, 0x1A4, exclusive: true, followSymlinks: true, Timeout))).Errno);
            Assert.Equal(Errno.ENOENT, (await Assert.ThrowsAsync<RemoteFileException>(async () => await pod.Remote.CreateOrGetEntryAsync("/app/no-such-dir/x", 0x1A4, exclusive: false, followSymlinks: true, Timeout))).Errno);
            Assert.Equal(Errno.ENOTDIR, (await Assert.ThrowsAsync<RemoteFileException>(async () => await pod.Remote.CreateOrGetEntryAsync(path + "/x", 0x1A4, exclusive: false, followSymlinks: true, Timeout))).Errno);

            pod.WithoutFeatures(ProtocolFeatures.FilesCreateStat);
            Assert.Null(await pod.Remote.CreateOrGetEntryAsync(path + ".older", 0x1A4, exclusive: false, followSymlinks: true, Timeout));
            Assert.False(File.Exists(cluster.Box.HostPath(path + ".older")));
        }
        finally
        {
            foreach (var created in new[] { path, link, dangling, path + ".target" })
            {
                File.Delete(cluster.Box.HostPath(created));
            }
        }
    }
}
