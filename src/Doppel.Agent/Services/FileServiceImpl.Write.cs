using Doppel.Linux.Files;
using Doppel.Linux.Native;
using Doppel.Protocol.V1;
using Grpc.Core;

namespace Doppel.Agent.Services;

/// <summary>
/// Write calls. Calls on a directory entry (mkdir, unlink, rmdir, rename) open the parent inside
/// the root and act on the last name only, so neither the parent path nor the name can leave it.
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
        var flags = OpenFlags.WriteOnly
            | (open.Create ? OpenFlags.Create : 0)
            | (open.Exclusive ? OpenFlags.Exclusive : 0)
            | (open.Truncate ? OpenFlags.Truncate : 0);
        using var fd = root.Open(open.Path, flags, out var errno, (int)(open.Mode & 0xFFF));
        if (fd is null)
        {
            return new WriteFileResponse { Error = PosixErrors.Of(errno) };
        }

        var offset = (long)open.Offset;
        ulong written = 0;
        while (await requestStream.MoveNext(context.CancellationToken).ConfigureAwait(false))
        {
            var data = requestStream.Current.Data.Memory;
            while (!data.IsEmpty)
            {
                var r = RootedFiles.WriteAt(fd, data.Span, offset);
                if (r < 0)
                {
                    return new WriteFileResponse { BytesWritten = written, Error = PosixErrors.Of((int)-r) };
                }

                data = data[(int)r..];
                offset += r;
                written += (ulong)r;
            }
        }

        errno = StatOf(fd, string.Empty, FileStat.NameOf(open.Path), out var stat);
        return errno == 0
            ? new WriteFileResponse { BytesWritten = written, Stat = stat }
            : new WriteFileResponse { BytesWritten = written, Error = PosixErrors.Of(errno) };
    }

    public override Task<MkdirResponse> Mkdir(MkdirRequest request, ServerCallContext context) =>
        Task.FromResult(new MkdirResponse { Error = OnEntry(request.Path, (parent, name) => RootedFiles.MakeDirectory(parent, name, (int)(request.Mode & 0xFFF))) });

    public override Task<UnlinkResponse> Unlink(UnlinkRequest request, ServerCallContext context) =>
        Task.FromResult(new UnlinkResponse { Error = OnEntry(request.Path, (parent, name) => RootedFiles.Remove(parent, name, directoryEntry: false)) });

    public override Task<RmdirResponse> Rmdir(RmdirRequest request, ServerCallContext context) =>
        Task.FromResult(new RmdirResponse { Error = OnEntry(request.Path, (parent, name) => RootedFiles.Remove(parent, name, directoryEntry: true)) });

    public override Task<RenameResponse> Rename(RenameRequest request, ServerCallContext context) =>
        Task.FromResult(new RenameResponse
        {
            Error = OnEntry(request.From, (fromParent, fromName) =>
            {
                using var toParent = root.OpenParent(request.To, out var toName, out var errno);
                return toParent is null ? errno : RootedFiles.Rename(fromParent, fromName, toParent, toName, request.NoReplace);
            }),
        });

    public override Task<TruncateResponse> Truncate(TruncateRequest request, ServerCallContext context)
    {
        using var fd = root.Open(request.Path, OpenFlags.WriteOnly, out var errno);
        if (fd is not null)
        {
            errno = RootedFiles.Truncate(fd, (long)Math.Min(request.Length, long.MaxValue));
        }

        return Task.FromResult(new TruncateResponse { Error = errno == 0 ? null : PosixErrors.Of(errno) });
    }

    private PosixError? OnEntry(string path, Func<Microsoft.Win32.SafeHandles.SafeFileHandle, string, int> call)
    {
        using var parent = root.OpenParent(path, out var name, out var errno);
        if (parent is not null)
        {
            errno = call(parent, name);
        }

        return errno == 0 ? null : PosixErrors.Of(errno);
    }
}
