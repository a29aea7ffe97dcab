using Doppel.Agent.Files;
using Doppel.Agent.Logging;
using Doppel.Linux.Files;
using Doppel.Linux.Native;
using Doppel.Protocol.V1;
using Grpc.Core;

namespace Doppel.Agent.Services;

/// <summary>
/// Write calls. A whole-file write goes to a new file renamed over the old one (<see cref="FileWrite"/>).
/// Calls on a directory entry (mkdir, unlink, rmdir, rename) open the parent inside the root and
/// act on the last name only, so neither the parent path nor the name can leave it. Each call is
/// logged at debug level with its errno (0: done).
/// </summary>
internal sealed partial class FileServiceImpl
{
    public override async Task<WriteFileResponse> WriteFile(IAsyncStreamReader<WriteFileRequest> requestStream, ServerCallContext context)
    {
        if (!await requestStream.MoveNext(context.CancellationToken).ConfigureAwait(false)
            || requestStream.Current.PartCase != WriteFileRequest.PartOneofCase.Open)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "A WriteFile call starts with an open message."));
        }

        var open = requestStream.Current.Open;
        using var write = FileWrite.Open(root, target.IsTargetless, open, out var errno);
        var response = write is null
            ? new WriteFileResponse { Error = PosixErrors.Of(errno) }
            : await WriteAllAsync(write, open, requestStream, context.CancellationToken).ConfigureAwait(false);
        AgentLog.FileWritten(logger, open.Path, response.BytesWritten, response.InPlace ? "in place" : "replaced", response.Error?.Errno ?? 0);
        return response;
    }

    public override Task<MkdirResponse> Mkdir(MkdirRequest request, ServerCallContext context) =>
        Task.FromResult(new MkdirResponse { Error = OnEntry("mkdir", request.Path, (parent, name) => RootedFiles.MakeDirectory(parent, name, (int)(request.Mode & 0xFFF))) });

    public override Task<UnlinkResponse> Unlink(UnlinkRequest request, ServerCallContext context) =>
        Task.FromResult(new UnlinkResponse { Error = OnEntry("unlink", request.Path, (parent, name) => RootedFiles.Remove(parent, name, directoryEntry: false)) });

    public override Task<RmdirResponse> Rmdir(RmdirRequest request, ServerCallContext context) =>
        Task.FromResult(new RmdirResponse { Error = OnEntry("rmdir", request.Path, (parent, name) => RootedFiles.Remove(parent, name, directoryEntry: true)) });

    public override Task<RenameResponse> Rename(RenameRequest request, ServerCallContext context)
    {
        using var fromParent = root.OpenParent(request.From, out var fromName, out var errno);
        if (fromParent is not null)
        {
            using var toParent = root.OpenParent(request.To, out var toName, out errno);
            if (toParent is not null)
            {
                errno = RootedFiles.Rename(fromParent, fromName, toParent, toName, request.NoReplace, request.Exchange);
            }
        }

        AgentLog.FileRenamed(logger, request.From, request.To, errno);
        return Task.FromResult(new RenameResponse { Error = errno == 0 ? null : PosixErrors.Of(errno) });
    }

    public override Task<TruncateResponse> Truncate(TruncateRequest request, ServerCallContext context)
    {
        using var fd = root.Open(request.Path, OpenFlags.WriteOnly, out var errno);
        if (fd is not null)
        {
            errno = RootedFiles.Truncate(fd, (long)Math.Min(request.Length, long.MaxValue));
        }

        AgentLog.FileChanged(logger, "truncate", request.Path, errno);
        return Task.FromResult(new TruncateResponse { Error = errno == 0 ? null : PosixErrors.Of(errno) });
    }

    // The data messages into the file, then its commit (fsync and rename for a replacement).
    private static async Task<WriteFileResponse> WriteAllAsync(FileWrite write, WriteFileOpen open, IAsyncStreamReader<WriteFileRequest> requestStream, CancellationToken cancellationToken)
    {
        var response = new WriteFileResponse { InPlace = write.InPlace };
        var offset = open.Truncate ? 0 : (long)open.Offset;
        while (await requestStream.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            var data = requestStream.Current.Data.Memory;
            while (!data.IsEmpty)
            {
                var r = RootedFiles.WriteAt(write.File, data.Span, offset);
                if (r < 0)
                {
                    response.Error = PosixErrors.Of((int)-r);
                    return response;
                }

                data = data[(int)r..];
                offset += r;
                response.BytesWritten += (ulong)r;
            }
        }

        var errno = open.InPlace && open.Truncate ? RootedFiles.Truncate(write.File, offset) : 0;
        errno = errno == 0 ? write.Commit() : errno;
        if (errno == 0)
        {
            errno = StatOf(write.File, string.Empty, FileStat.NameOf(open.Path), out var stat);
            response.Stat = errno == 0 ? stat : null;
        }

        response.Error = errno == 0 ? null : PosixErrors.Of(errno);
        return response;
    }

    private PosixError? OnEntry(string call, string path, Func<Microsoft.Win32.SafeHandles.SafeFileHandle, string, int> change)
    {
        using var parent = root.OpenParent(path, out var name, out var errno);
        if (parent is not null)
        {
            errno = change(parent, name);
        }

        AgentLog.FileChanged(logger, call, path, errno);
        return errno == 0 ? null : PosixErrors.Of(errno);
    }
}
