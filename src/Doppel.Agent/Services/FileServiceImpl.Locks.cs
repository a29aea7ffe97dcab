using Doppel.Agent.Files;
using Doppel.Agent.Logging;
using Doppel.Linux.Files;
using Doppel.Linux.Native;
using Doppel.Protocol.V1;
using Grpc.Core;

namespace Doppel.Agent.Services;

/// <summary>
/// Lock and ReleaseLocks: the session's locks taken on the pod file itself (<see cref="PodLocks"/>),
/// per HTTP/2 connection, so a connection that closes drops its locks.
/// </summary>
internal sealed partial class FileServiceImpl
{
    public override async Task<LockResponse> Lock(LockRequest request, ServerCallContext context)
    {
        if (target.IsTargetless)
        {
            return new LockResponse { Error = PosixErrors.Of(TargetlessFiles.EntryError(request.Path)) };
        }

        if (request.Type > FileLocks.Unlock || string.IsNullOrEmpty(request.Owner))
        {
            return new LockResponse { Error = PosixErrors.Of(Errno.EINVAL) };
        }

        var range = new LockRange((short)request.Type, 0, request.Start, request.Length, 0);
        int errno;
        try
        {
            (errno, range) = await locks.LockAsync(root, context.GetHttpContext().Connection.Id, request.Owner, request.Path, request.Kind == LockKind.Flock, range, request.Test, request.Wait, context.CancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            errno = Errno.EINTR; // the waiting call was cancelled: nobody reads this answer
        }

        AgentLog.FileLocked(logger, request.Path, request.Owner, request.Type, request.Start, request.Length, errno);
        var response = new LockResponse { Error = errno == 0 ? null : PosixErrors.Of(errno) };
        if (errno == 0 && request.Test && range.Type != FileLocks.Unlock)
        {
            response.Conflict = new LockConflict { Type = (uint)range.Type, Start = range.Start, Length = range.Length, Pid = range.Pid };
        }
        else if (errno == 0 && !request.Test && request.Type != FileLocks.Unlock)
        {
            // Feature "files.lock-stat": what a Stat right after the lock would answer, for the
            // session's refresh-at-lock check. A failed stat is left out: the session asks itself.
            using var fd = root.Open(request.Path, OpenFlags.Path, out _);
            if (fd is not null && StatOf(fd, string.Empty, FileStat.NameOf(request.Path), out var stat) == 0)
            {
                response.Stat = stat;
            }
        }

        return response;
    }

    public override Task<ReleaseLocksResponse> ReleaseLocks(ReleaseLocksRequest request, ServerCallContext context)
    {
        locks.Release(context.GetHttpContext().Connection.Id, request.Owners);
        return Task.FromResult(new ReleaseLocksResponse());
    }
}
