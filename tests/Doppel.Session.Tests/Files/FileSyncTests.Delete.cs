using System.Collections.Concurrent;
using Doppel.Interception.Remote;
using Doppel.Linux.Native;
using Doppel.Session.Files;
using Doppel.Session.Tests.Support;

namespace Doppel.Session.Tests.Files;

/// <summary>
/// Deletes against write-backs, with the real agent: an unlink right after a writer's close never
/// fails and leaves nothing in the pod (a pending write-back is dropped, one under way ends first);
/// and a write-back told as failed that later succeeds says so.
/// </summary>
public sealed partial class FileSyncTests
{
    [Fact]
    public async Task FilesRewrittenAndUnlinkedRightAfterTheirCloseAreGoneFromThePod()
    {
        await using var pod = await PodAsync();
        var files = new FileSync(pod.Remote, report: _ => { });
        var paths = Enumerable.Range(0, 20).Select(i => $"/app/rewritten-{Guid.NewGuid():N}-{i}").ToList();
        try
        {
            foreach (var path in paths)
            {
                File.WriteAllText(cluster.Box.HostPath(path), "in the pod\n");
            }

            await using (files)
            {
                // As `open(p, "w").write("rewritten"); os.unlink(p)` through the file handler.
                foreach (var path in paths)
                {
                    await WriteAsProgramAsync(files, path, "rewritten", FileMode.Create);
                    await DeleteAsProgramAsync(files, pod.Remote, path);
                }

                await files.FlushAsync(Timeout);
                Assert.Empty(files.UnsentFiles);
            }

            // Disposed: every write-back task has ended.
            Assert.DoesNotContain(paths, p => File.Exists(cluster.Box.HostPath(p)));
        }
        finally
        {
            paths.ForEach(p => File.Delete(cluster.Box.HostPath(p)));
        }
    }

    [Fact]
    public async Task FilesCreatedHereAndUnlinkedBeforeTheyReachedThePodNeverAppearThere()
    {
        await using var pod = await PodAsync();
        var files = new FileSync(pod.Remote, report: _ => { });
        var paths = Enumerable.Range(0, 20).Select(i => $"/app/new-{Guid.NewGuid():N}-{i}").ToList();
        try
        {
            await using (files)
            {
                foreach (var path in paths)
                {
                    await WriteAsProgramAsync(files, path, "only here", FileMode.CreateNew);
                    await DeleteAsProgramAsync(files, pod.Remote, path); // no ENOENT
                    Assert.False(File.Exists(files.LocalPath(path)), "the local copy is left");
                }

                await files.FlushAsync(Timeout);
            }

            Assert.DoesNotContain(paths, p => File.Exists(cluster.Box.HostPath(p)));
        }
        finally
        {
            paths.ForEach(p => File.Delete(cluster.Box.HostPath(p)));
        }
    }

    [Fact]
    public async Task AnUnlinkWhileTheFilesWriteBackIsUnderWayWaitsForItSoTheFileDoesNotComeBack()
    {
        await using var pod = await PodAsync();
        var sending = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var remote = new CountingRemote(pod.Remote)
        {
            // The send is slow: an unlink that does not wait for it runs while it is under way.
            Before = async (call, _) =>
            {
                if (call.StartsWith("WriteFile", StringComparison.Ordinal))
                {
                    sending.TrySetResult();
                    await Task.Delay(TimeSpan.FromMilliseconds(300), CancellationToken.None); // held whatever its token says
                }
            },
        };
        var files = new FileSync(remote, report: _ => { });
        var path = $"/app/in-flight-{Guid.NewGuid():N}";
        try
        {
            File.WriteAllText(cluster.Box.HostPath(path), "in the pod\n");
            await using (files)
            {
                await WriteAsProgramAsync(files, path, "rewritten", FileMode.Create); // its close starts a write-back
                await sending.Task.WaitAsync(Timeout);
                await DeleteAsProgramAsync(files, remote, path);
                await files.FlushAsync(path, Timeout); // a send still under way (disposing would cancel it) ends
            }

            Assert.False(File.Exists(cluster.Box.HostPath(path)), "the deleted file came back");
        }
        finally
        {
            File.Delete(cluster.Box.HostPath(path));
        }
    }

    [Fact]
    public async Task AWriteBackToldAsFailedThatLaterSucceedsSaysSoInOneEscapedLine()
    {
        await using var pod = await PodAsync();
        var failed = 0;
        var remote = new CountingRemote(pod.Remote)
        {
            // The pod's disk is full for the first send only.
            Before = (call, _) => call.StartsWith("WriteFile", StringComparison.Ordinal) && Interlocked.Exchange(ref failed, 1) == 0
                ? throw new RemoteFileException(Errno.ENOSPC, "No space left on device") { WrittenInPlace = false }
                : Task.CompletedTask,
        };
        var reports = new ConcurrentQueue<string>();
        var recovered = new ConcurrentQueue<string>();
        await using var files = new FileSync(remote, reports.Enqueue, recovered: recovered.Enqueue);
        var path = $"/app/full-{Guid.NewGuid():N}\t.txt";
        var shown = path.Replace("\t", "\\t", StringComparison.Ordinal);
        try
        {
            MarkWrittenInItsDirectory(files, path);
            using (var fd = new FileStream(files.LocalPath(path), FileMode.Create, FileAccess.Write))
            {
                fd.Write("sent at last\n"u8);
                fd.Flush();
                await Assert.ThrowsAsync<RemoteFileException>(() => files.FlushAsync(path, Timeout));
                Assert.Empty(recovered);
            }

            await files.FlushAsync(Timeout); // the final flush

            Assert.StartsWith($"{shown} was not written back to the pod: the pod's file system is full", Assert.Single(reports), StringComparison.Ordinal);
            Assert.Equal([$"{shown} reached the pod after all."], recovered.ToArray());
            AssertSentToThePod(files, path, "sent at last\n");
        }
        finally
        {
            File.Delete(cluster.Box.HostPath(path));
        }
    }

    /// <summary>An unlink of a remote path as the file handler does it.</summary>
    private static Task DeleteAsProgramAsync(FileSync files, IRemote remote, string path) =>
        files.DeleteAsync(path, directory: false, c => remote.DeleteAsync(path, directory: false, c).AsTask(), Timeout);
}
