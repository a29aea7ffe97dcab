using System.Collections.Concurrent;
using Doppel.Interception.Remote;
using Doppel.Linux.Native;
using Doppel.Session.Agent;
using Doppel.Session.Files;
using Doppel.Session.Remote;
using Doppel.Session.Tests.Remote;
using Doppel.Session.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Doppel.Session.Tests.Files;

/// <summary>
/// The session's file sync against the real agent serving a runc container pod: how many agent
/// calls an open costs, and what a write-back the pod refuses does.
/// </summary>
public sealed partial class FileSyncTests(SessionClusterFixture cluster) : IClassFixture<SessionClusterFixture>
{
    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    [Fact]
    public async Task ColdFetchOfA4KiBPodFileIsOneAgentCallAndAnUnchangedReuseIsOneStat()
    {
        var path = $"/app/cold-{Guid.NewGuid():N}.bin";
        var content = new byte[4096];
        Random.Shared.NextBytes(content);
        await File.WriteAllBytesAsync(cluster.Box.HostPath(path), content);
        try
        {
            await using var agent = await AgentUnderTest.StartAsync($"container/{cluster.Box.ContainerId}");
            using var connection = await AgentConnection.ConnectAsync(agent.Endpoint, "file-sync-test", "0.1.0", Timeout);
            await using var grpc = new GrpcRemote(connection, hostname: null, NullLogger.Instance);
            var remote = new CountingRemote(grpc);
            await using var files = new FileSync(remote, report: _ => { });

            var local = await files.FetchAsync(path, Timeout);
            var cold = remote.Calls.ToArray();
            var again = await files.FetchAsync(path, Timeout);

            Assert.Equal(content, await File.ReadAllBytesAsync(local));
            Assert.Equal(["ReadFile " + path], cold); // content and stat together: one round trip
            Assert.Equal(local, again);
            Assert.Equal(["ReadFile " + path, "Stat " + path], remote.Calls.ToArray());
        }
        finally
        {
            File.Delete(cluster.Box.HostPath(path));
        }
    }

    [Fact]
    public async Task FetchOfAPodDirectoryOrMissingPathFailsWithItsErrno()
    {
        await using var agent = await AgentUnderTest.StartAsync($"container/{cluster.Box.ContainerId}");
        using var connection = await AgentConnection.ConnectAsync(agent.Endpoint, "file-sync-test", "0.1.0", Timeout);
        await using var grpc = new GrpcRemote(connection, hostname: null, NullLogger.Instance);
        await using var files = new FileSync(grpc, report: _ => { });

        var directory = await Assert.ThrowsAsync<RemoteFileException>(async () => await files.FetchAsync("/app/data", Timeout));
        var missing = await Assert.ThrowsAsync<RemoteFileException>(async () => await files.FetchAsync("/app/nothing-here", Timeout));

        Assert.Equal(Errno.EISDIR, directory.Errno);
        Assert.Equal(Errno.ENOENT, missing.Errno);
    }

    [Fact]
    public async Task AWriteBackThePodRefusesIsReportedOnceAndListedAsUnsent()
    {
        await using var agent = await AgentUnderTest.StartAsync($"container/{cluster.Box.ContainerId}");
        using var connection = await AgentConnection.ConnectAsync(agent.Endpoint, "file-sync-test", "0.1.0", Timeout);
        await using var grpc = new GrpcRemote(connection, hostname: null, NullLogger.Instance);
        var reports = new ConcurrentQueue<string>();
        await using var files = new FileSync(grpc, reports.Enqueue);
        var path = "/app/data/a.txt/inside"; // a's a file: the pod cannot create anything under it (ENOTDIR)
        Directory.CreateDirectory(Path.GetDirectoryName(files.LocalPath(path))!);
        files.MarkWritten(path);
        await File.WriteAllTextAsync(files.LocalPath(path), "written by the app");

        var failure = await Assert.ThrowsAsync<RemoteFileException>(() => files.FlushAsync(path, Timeout));
        await files.FlushAsync(Timeout); // the final flush tries again and does not repeat the report

        Assert.Equal(Errno.ENOTDIR, failure.Errno);
        Assert.Equal(
            [$"{path} was not written back to the pod: Not a directory, so the pod keeps its previous content: keep the path local with feature.fs, and run the program again."],
            reports.ToArray());
        Assert.Equal([path], files.UnsentFiles);
    }
}
