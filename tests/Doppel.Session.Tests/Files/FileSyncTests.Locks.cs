using Doppel.Session.Files;

namespace Doppel.Session.Tests.Files;

/// <summary>
/// The refresh at a lock after sync points other than the last lock (issue P9): a copy sent at a
/// close or downloaded again at an open is the pod's content, so a later pod change of the same
/// size is read into the copy at the next lock, not taken for the program's unsent writes.
/// The pod's changes get mtimes of their own (set by hand), so no stamp can match by chance.
/// </summary>
public sealed partial class FileSyncTests
{
    private static readonly DateTime PodTime = new(2024, 5, 6, 7, 8, 9, DateTimeKind.Utc);

    [Fact]
    public async Task ALockAfterASendAtACloseReadsThePodsChangeOfTheSameSize()
    {
        await using var pod = await PodAsync();
        await using var files = new FileSync(pod.Remote, report: _ => { });
        var path = $"/app/counter-close-{Guid.NewGuid():N}";
        var host = cluster.Box.HostPath(path);
        await WriteInThePodAsync(host, "1000", PodTime);
        try
        {
            files.LockRequested(path);
            var local = await files.FetchAsync(path, Timeout);
            await files.RefreshAtLockAsync(path, Timeout);

            // The program writes and closes (sent at the close: flock(1)'s command), and the lock
            // goes with another fd's close: no push before an unlock.
            files.MarkWritten(path);
            await File.WriteAllTextAsync(local, "1001");
            await files.FlushAsync(path, Timeout);
            Assert.Equal("1001", await File.ReadAllTextAsync(host));

            await WriteInThePodAsync(host, "2001", PodTime.AddSeconds(1));
            files.LockRequested(path);
            await files.RefreshAtLockAsync(path, Timeout);

            Assert.Equal("2001", await File.ReadAllTextAsync(local));
        }
        finally
        {
            File.Delete(host);
        }
    }

    [Fact]
    public async Task ALockAfterADownloadAtAnOpenReadsThePodsChangeOfTheSameSize()
    {
        await using var pod = await PodAsync();
        await using var files = new FileSync(pod.Remote, report: _ => { });
        var path = $"/app/counter-open-{Guid.NewGuid():N}";
        var host = cluster.Box.HostPath(path);
        await WriteInThePodAsync(host, "1000", PodTime);
        try
        {
            files.LockRequested(path);
            await files.FetchAsync(path, Timeout);
            await files.RefreshAtLockAsync(path, Timeout);

            // Changed in the pod after the unlock: the next open downloads it again.
            await WriteInThePodAsync(host, "2000", PodTime.AddSeconds(1));
            var local = await files.FetchAsync(path, Timeout);
            Assert.Equal("2000", await File.ReadAllTextAsync(local));

            // Changed again between that open and the lock.
            await WriteInThePodAsync(host, "3000", PodTime.AddSeconds(2));
            files.LockRequested(path);
            await files.RefreshAtLockAsync(path, Timeout);

            Assert.Equal("3000", await File.ReadAllTextAsync(local));
        }
        finally
        {
            File.Delete(host);
        }
    }

    [Fact]
    public async Task ALockKeepsTheProgramsUnsentWritesAfterADownload()
    {
        await using var pod = await PodAsync();
        await using var files = new FileSync(pod.Remote, report: _ => { });
        var path = $"/app/counter-unsent-{Guid.NewGuid():N}";
        var host = cluster.Box.HostPath(path);
        await WriteInThePodAsync(host, "1000", PodTime);
        try
        {
            files.LockRequested(path);
            var local = await files.FetchAsync(path, Timeout);
            files.MarkWritten(path);
            await File.WriteAllTextAsync(local, "1111");
            File.SetLastWriteTimeUtc(local, PodTime.AddSeconds(5)); // the program's write, not a match of the pod

            await WriteInThePodAsync(host, "2000", PodTime.AddSeconds(1));
            await files.RefreshAtLockAsync(path, Timeout);

            Assert.Equal("1111", await File.ReadAllTextAsync(local));
        }
        finally
        {
            File.Delete(host);
        }
    }

    /// <summary>A pod process's write (on the pod file's host path) with the mtime it leaves.</summary>
    private static async Task WriteInThePodAsync(string hostPath, string content, DateTime mtime)
    {
        await File.WriteAllTextAsync(hostPath, content);
        File.SetLastWriteTimeUtc(hostPath, mtime);
    }
}
