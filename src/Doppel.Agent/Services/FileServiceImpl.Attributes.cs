using Doppel.Agent.Files;
using Doppel.Agent.Logging;
using Doppel.Linux.Files;
using Doppel.Linux.Native;
using Doppel.Protocol.V1;
using Grpc.Core;
using Microsoft.Win32.SafeHandles;

namespace Doppel.Agent.Services;

/// <summary>
/// SetAttributes: chmod, chown and utimensat. A followed path is opened with O_PATH inside the
/// root first (its symlinks resolved there) and changed through that fd; an unfollowed one is
/// changed as a name in its parent, so a symlink is never resolved outside the root.
/// </summary>
internal sealed partial class FileServiceImpl
{
    public override Task<SetAttributesResponse> SetAttributes(SetAttributesRequest request, ServerCallContext context)
    {
        // The two files a targetless agent serves are read-only (TargetlessFiles).
        var errno = target.IsTargetless ? TargetlessFiles.EntryError(request.Path)
            : request.FollowSymlinks ? OnResolved(request)
            : OnEntryName(request);
        AgentLog.FileChanged(logger, "setattr", request.Path, errno);
        return Task.FromResult(new SetAttributesResponse { Error = errno == 0 ? null : PosixErrors.Of(errno) });
    }

    private int OnResolved(SetAttributesRequest request)
    {
        using var fd = root.Open(request.Path, OpenFlags.Path, out var errno);
        return fd is null ? errno : Apply(fd, string.Empty, request);
    }

    private int OnEntryName(SetAttributesRequest request)
    {
        using var parent = root.OpenParent(request.Path, out var name, out var errno);
        return parent is null ? errno : Apply(parent, name, request);
    }

    private static int Apply(SafeFileHandle fd, string name, SetAttributesRequest request)
    {
        var follow = request.FollowSymlinks;
        if (request.HasUid || request.HasGid)
        {
            var errno = RootedAttributes.ChangeOwner(fd, name, request.HasUid ? (int)request.Uid : -1, request.HasGid ? (int)request.Gid : -1, follow);
            if (errno != 0)
            {
                return errno;
            }
        }

        if (request.HasMode)
        {
            var errno = RootedAttributes.ChangeMode(fd, name, (int)(request.Mode & 0xFFF), follow);
            if (errno != 0)
            {
                return errno;
            }
        }

        if (request.Atime is not null || request.Mtime is not null)
        {
            static (long, long)? Time(Timespec? t) => t is null ? null : (t.Seconds, t.Nanoseconds);
            return RootedAttributes.ChangeTimes(fd, name, Time(request.Atime), Time(request.Mtime), follow);
        }

        return 0;
    }
}
