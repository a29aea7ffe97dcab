using System.Collections.Concurrent;
using Doppel.Session.Agent;
using Doppel.Session.Files;
using Doppel.Session.Remote;
using Doppel.Session.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Doppel.Session.Tests.Files;

/// <summary>
/// Write-back against the real agent: a file goes back to the cache once sent, a rename carries an
/// open file's writes, a cancelled send stays queued, the final flush can be skipped, the
/// write-back tasks are owned, a shared download survives its first caller.
/// </summary>
public sealed partial class FileSyncTests
{
    [Fact]
    public async Task AFileSentBackGoesBackToTheCacheSoAPodChangeIsSeenAndALaterAppendKeepsIt()
    {
        await using var pod = await PodAsync();
        await using var files = new FileSync(pod.Remote, report: _ => { });
        var path = $"/app/written-{Guid.NewGuid():N}.txt";
        try
        {
            await WriteAsProgramAsync(files, path, "from the program\n", FileMode.Create);
            await files.FlushAsync(Timeout);
            Assert.Equal("from the program\n", File.ReadAllText(cluster.Box.HostPath(path)));

            File.WriteAllText(cluster.Box.HostPath(path), "changed in the pod\n");
            var seen = File.ReadAllText(await files.FetchAsync(path, Timeout));
            await WriteAsProgramAsync(files, path, "appended\n", FileMode.Append);
            await files.FlushAsync(Timeout);

            Assert.Equal("changed in the pod\n", seen);
            AssertSentToThePod(files, path, "changed in the pod\nappended\n");
        }
        finally
        {
            File.Delete(cluster.Box.HostPath(path));
        }
    }

    [Fact]
    public async Task WritesThroughAnFdOpenedBeforeARenameReachThePodUnderTheNewName()
    {
        await using var pod = await PodAsync();
        await using var files = new FileSync(pod.Remote, report: _ => { });
        var from = $"/app/before-{Guid.NewGuid():N}.txt";
        var to = $"/app/after-{Guid.NewGuid():N}.txt";
        try
        {
            // As the file handler does: marked, then opened; the rename goes through RenameAsync.
            MarkWrittenInItsDirectory(files, from);
            using (var fd = new FileStream(files.LocalPath(from), FileMode.Create, FileAccess.Write))
            {
                fd.Write("written before the rename\n"u8);
                fd.Flush();
                await files.RenameAsync(from, to, c => pod.Remote.RenameAsync(from, to, noReplace: false, c).AsTask(), Timeout);
                fd.Write("written after it\n"u8);
            }

            await files.FlushAsync(Timeout);

            AssertSentToThePod(files, to, "written before the rename\nwritten after it\n");
            Assert.False(File.Exists(cluster.Box.HostPath(from)), "a file is left under the old name");
        }
        finally
        {
            File.Delete(cluster.Box.HostPath(from));
            File.Delete(cluster.Box.HostPath(to));
        }
    }

    [Fact]
    public async Task AFileStillBeingWrittenIsLinkedWithItsContentAndItsLaterWritesReachTheNewName()
    {
        await using var pod = await PodAsync();
        await using var files = new FileSync(pod.Remote, report: _ => { });
        var from = $"/app/linked-from-{Guid.NewGuid():N}.txt";
        var to = $"/app/linked-to-{Guid.NewGuid():N}.txt";
        try
        {
            // As the file handler does: created in the pod, marked, opened; the link goes through LinkAsync.
            await pod.Remote.CreateFileAsync(from, 0x1A4, exclusive: true, Timeout);
            MarkWrittenInItsDirectory(files, from);
            string atTheLink;
            using (var fd = new FileStream(files.LocalPath(from), FileMode.Create, FileAccess.Write))
            {
                fd.Write("written before the link\n"u8);
                fd.Flush();
                await files.LinkAsync(from, to, c => pod.Remote.LinkAsync(from, to, followSymlinks: false, c).AsTask(), Timeout);
                atTheLink = File.ReadAllText(cluster.Box.HostPath(to));
                fd.Write("written after it\n"u8);
            }

            await files.FlushAsync(Timeout);

            // Sent before the link, and the later send went into the file both names share (in place).
            Assert.Equal("written before the link\n", atTheLink);
            Assert.Equal("written before the link\nwritten after it\n", File.ReadAllText(cluster.Box.HostPath(to)));
            Assert.Equal(
                Doppel.Linux.Processes.FileCalls.GetIdentity(cluster.Box.HostPath(from)),
                Doppel.Linux.Processes.FileCalls.GetIdentity(cluster.Box.HostPath(to)));
        }
        finally
        {
            File.Delete(cluster.Box.HostPath(from));
            File.Delete(cluster.Box.HostPath(to));
        }
    }

    [Fact]
    public async Task ASendCancelledByItsCallerStaysQueuedAndTheFinalFlushSendsIt()
    {
        await using var pod = await PodAsync();
        using var caller = new CancellationTokenSource();
        var remote = new CountingRemote(pod.Remote)
        {
            // The first send's caller goes away (its program thread was killed) while the send starts.
            Before = (call, _) =>
            {
                if (call.StartsWith("WriteFile", StringComparison.Ordinal))
                {
                    caller.Cancel();
                }

                return Task.CompletedTask;
            },
        };
        await using var files = new FileSync(remote, report: _ => { });
        var path = $"/app/cancelled-{Guid.NewGuid():N}.txt";
        try
        {
            // Left open: no close queues a write-back of its own, only the one cancelled here.
            MarkWrittenInItsDirectory(files, path);
            using var fd = new FileStream(files.LocalPath(path), FileMode.Create, FileAccess.Write);
            fd.Write("kept for the final flush\n"u8);
            fd.Flush();

            await Assert.ThrowsAnyAsync<Exception>(() => files.FlushAsync(path, caller.Token));
            await files.FlushAsync(Timeout);

            AssertSentToThePod(files, path, "kept for the final flush\n");
        }
        finally
        {
            File.Delete(cluster.Box.HostPath(path));
        }
    }

    [Fact]
    public async Task AFinalFlushCancelledAtExitSaysSoOnceAndListsTheFileAsUnsent()
    {
        await using var pod = await PodAsync();
        using var skip = new CancellationTokenSource();
        var sending = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var remote = UnansweredWrites(pod.Remote, sending); // the pod does not answer until the flush is skipped
        var reports = new ConcurrentQueue<string>();
        var announced = new ConcurrentQueue<int>();
        await using var files = new FileSync(remote, reports.Enqueue, finalFlushStarting: announced.Enqueue);
        var path = $"/app/skipped-{Guid.NewGuid():N}\n.txt";
        MarkWrittenInItsDirectory(files, path);
        using (var fd = new FileStream(files.LocalPath(path), FileMode.Create, FileAccess.Write))
        {
            fd.Write("never sent\n"u8);
        }

        var flush = files.FlushAsync(skip.Token);
        await sending.Task.WaitAsync(Timeout);
        await skip.CancelAsync();
        await flush.WaitAsync(Timeout);

        Assert.Equal([1], announced.ToArray());
        Assert.Equal(
            [$"{path.Replace("\n", "\\n", StringComparison.Ordinal)} was not written back to the pod: sending it was skipped at exit, so the pod's file may hold only part of the new content; run the program again to write it."],
            reports.ToArray());
        Assert.Equal([path], files.UnsentFiles);
        Assert.False(File.Exists(cluster.Box.HostPath(path)));
    }

    [Fact]
    public async Task ARefusedWriteBackOfANameWithControlCharactersIsOneEscapedLine()
    {
        await using var pod = await PodAsync();
        var reports = new ConcurrentQueue<string>();
        await using var files = new FileSync(pod.Remote, reports.Enqueue);
        var path = "/app/data/a.txt/x\nerror: forged\u001b[2K"; // under a file: ENOTDIR
        Directory.CreateDirectory(Path.GetDirectoryName(files.LocalPath(path))!);
        files.MarkWritten(path);
        await File.WriteAllTextAsync(files.LocalPath(path), "written by the app");

        await files.FlushAsync(Timeout);

        var report = Assert.Single(reports);
        Assert.StartsWith(@"/app/data/a.txt/x\nerror: forged\x1b[2K was not written back to the pod: Not a directory, so", report, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', report);
        Assert.DoesNotContain('\u001b', report);
    }

    [Fact]
    public async Task DisposeWaitsForAWriteBackUnderWay()
    {
        await using var pod = await PodAsync();
        var sending = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var remote = new CountingRemote(pod.Remote)
        {
            Before = async (call, _) =>
            {
                if (call.StartsWith("WriteFile", StringComparison.Ordinal))
                {
                    sending.TrySetResult();
                    await release.Task; // held whatever its token says
                }
            },
        };
        var files = new FileSync(remote, report: _ => { });
        var path = $"/app/owned-{Guid.NewGuid():N}.txt";
        try
        {
            await WriteAsProgramAsync(files, path, "x", FileMode.Create); // its close starts a write-back
            await sending.Task.WaitAsync(Timeout);

            var disposing = files.DisposeAsync().AsTask();
            var endedBeforeTheWriteBack = disposing.IsCompleted;
            release.SetResult();
            await disposing.WaitAsync(Timeout);

            Assert.False(endedBeforeTheWriteBack, "dispose returned while a write-back was still under way");
        }
        finally
        {
            release.TrySetResult();
            File.Delete(cluster.Box.HostPath(path));
        }
    }

    [Fact]
    public async Task AWriteBackTaskThatFailsUnexpectedlyIsLogged()
    {
        await using var pod = await PodAsync();
        var remote = new CountingRemote(pod.Remote)
        {
            Before = (call, _) => call.StartsWith("WriteFile", StringComparison.Ordinal)
                ? throw new InvalidOperationException("a bug in the write-back")
                : Task.CompletedTask,
        };
        var logger = new ListLogger();
        await using var files = new FileSync(remote, report: _ => { }, logger: logger);
        var path = $"/app/logged-{Guid.NewGuid():N}.txt";

        await WriteAsProgramAsync(files, path, "x", FileMode.Create); // its close starts a write-back
        await logger.Logged.WaitAsync(Timeout);

        var entry = Assert.Single(logger.Entries);
        Assert.Contains(path, entry.Message, StringComparison.Ordinal);
        Assert.IsType<InvalidOperationException>(entry.Exception);
    }

    [Fact]
    public async Task AFetchCancelledByItsCallerDoesNotFailAnotherFetchSharingItsDownload()
    {
        var path = $"/app/shared-{Guid.NewGuid():N}.txt";
        await File.WriteAllTextAsync(cluster.Box.HostPath(path), "shared\n");
        await using var pod = await PodAsync();
        var reading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var remote = new CountingRemote(pod.Remote)
        {
            Before = async (call, _) =>
            {
                if (call.StartsWith("ReadFile", StringComparison.Ordinal))
                {
                    reading.TrySetResult();
                    await release.Task;
                }
            },
        };
        await using var files = new FileSync(remote, report: _ => { });
        using var first = new CancellationTokenSource();
        try
        {
            var cancelled = files.FetchAsync(path, first.Token).AsTask();
            await reading.Task.WaitAsync(Timeout);
            var second = files.FetchAsync(path, Timeout).AsTask();
            await first.CancelAsync();
            release.SetResult();

            Assert.Equal("shared\n", File.ReadAllText(await second.WaitAsync(Timeout)));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
            Assert.Single(remote.Calls, c => c.StartsWith("ReadFile", StringComparison.Ordinal));
        }
        finally
        {
            release.TrySetResult();
            File.Delete(cluster.Box.HostPath(path));
        }
    }

    /// <summary>What the program does through the file handler: marked written, opened, written, closed.</summary>
    private static async Task WriteAsProgramAsync(FileSync files, string path, string text, FileMode mode)
    {
        MarkWrittenInItsDirectory(files, path);
        var fd = new FileStream(files.LocalPath(path), mode, FileAccess.Write);
        await using (fd)
        {
            await fd.WriteAsync(System.Text.Encoding.UTF8.GetBytes(text));
        }
    }

    /// <summary>The pod's file has <paramref name="content"/> and nothing is left unsent.</summary>
    private void AssertSentToThePod(FileSync files, string path, string content)
    {
        Assert.Equal(content, File.ReadAllText(cluster.Box.HostPath(path)));
        Assert.Empty(files.UnsentFiles);
    }

    [Fact]
    public async Task AFinalFlushSkippedWhileAnotherWriteBackIsUnderWayNamesThatFileAsPossiblyPartial()
    {
        await using var pod = await PodAsync();
        using var skip = new CancellationTokenSource();
        using var stopping = new CancellationTokenSource();
        var sending = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var remote = UnansweredWrites(pod.Remote, sending); // the first write-back is not answered until the session stops
        var reports = new ConcurrentQueue<string>();
        await using var files = new FileSync(remote, reports.Enqueue);
        var busy = $"/app/z-busy-{Guid.NewGuid():N}.txt"; // after the other in the flush's order: the flush waits on the other first
        var waiting = $"/app/a-waiting-{Guid.NewGuid():N}.txt";
        foreach (var path in new[] { busy, waiting })
        {
            MarkWrittenInItsDirectory(files, path);
            await File.WriteAllTextAsync(files.LocalPath(path), "new content\n");
        }

        var push = files.PushAsync(busy, stopping.Token); // a write-through at a close, under way
        await sending.Task.WaitAsync(Timeout);
        var flush = files.FlushAsync(skip.Token);
        await skip.CancelAsync();
        await flush.WaitAsync(Timeout);
        await stopping.CancelAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => push);

        Assert.Equal(
            [
                $"{waiting} was not written back to the pod: sending it was skipped at exit, so the pod keeps its previous content; run the program again to write it.",
                $"{busy} was not written back to the pod: sending it was skipped at exit, so the pod's file may hold only part of the new content; run the program again to write it.",
            ],
            reports.Order(StringComparer.Ordinal).ToArray());
    }

    /// <summary>The remote whose WriteFile calls are not answered until their token is cancelled; <paramref name="sending"/> is set at the first.</summary>
    private static CountingRemote UnansweredWrites(Doppel.Interception.Remote.IRemote inner, TaskCompletionSource sending) => new(inner)
    {
        Before = async (call, token) =>
        {
            if (call.StartsWith("WriteFile", StringComparison.Ordinal))
            {
                sending.TrySetResult();
                await Task.Delay(System.Threading.Timeout.Infinite, token);
            }
        },
    };

    /// <summary>The directory is in the tree before a file in it is opened (the handler listed it), then the file is marked.</summary>
    private static void MarkWrittenInItsDirectory(FileSync files, string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(files.LocalPath(path))!);
        files.MarkWritten(path);
    }

    private async Task<PodConnection> PodAsync()
    {
        var agent = await AgentUnderTest.StartAsync($"container/{cluster.Box.ContainerId}");
        var connection = await AgentConnection.ConnectAsync(agent.Endpoint, "file-sync-test", "0.1.0", Timeout);
        return new PodConnection(agent, connection, new GrpcRemote(connection, hostname: null, NullLogger.Instance));
    }

    /// <summary>The real agent serving the box pod, and the remote over it.</summary>
    private sealed class PodConnection(AgentUnderTest agent, AgentConnection connection, GrpcRemote remote) : IAsyncDisposable
    {
        public GrpcRemote Remote => remote;

        /// <summary>Makes the agent look older: the client no longer sees these features in its Hello.</summary>
        public void WithoutFeatures(params string[] features)
        {
            foreach (var feature in features)
            {
                connection.Hello.Features.Remove(feature);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await remote.DisposeAsync();
            connection.Dispose();
            await agent.DisposeAsync();
        }
    }
}
