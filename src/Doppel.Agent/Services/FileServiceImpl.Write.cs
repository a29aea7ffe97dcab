using Doppel.Agent.Files;
using Doppel.Agent.Logging;
using Doppel.Linux.Files;
using Doppel.Linux.Native;
using Doppel.Protocol.V1;
using Grpc.Core;

namespace Doppel.Agent.Services;

/// <summary>
/// Write calls. A whole-file write goes to a new file renamed over the old one (<see cref="FileWrite"/>)
/// unless it is in place; an in-place write may carry several ranges (seek messages), append, and
/// a final length (feature "files.write-ranges").
/// Calls on a directory entry (mkdir, unlink, rmdir, rename, symlink, link) open the parent inside the root and
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
        if (CreateOrStat(open) is { } existed)
        {
            AgentLog.FileWritten(logger, open.Path, 0, "existed", existed.Error?.Errno ?? 0);
            return existed;
        }

        using var write = FileWrite.Open(root, target.IsTargetless, open, out var errno);
        var response = write is null
            ? new WriteFileResponse { Error = PosixErrors.Of(errno) }
            : await WriteAllAsync(write, open, requestStream, context.CancellationToken).ConfigureAwait(false);
        AgentLog.FileWritten(logger, open.Path, response.BytesWritten, response.InPlace ? (open.Append ? "appended" : "in place") : "replaced", response.Error?.Errno ?? 0);
        return response;
    }

    /// <summary>
    /// <c>stat_existing</c> (feature "files.create-stat"): an existing path answered with its stat
    /// and left as it is, or an open(2) errno; null when the file is to be created by the usual
    /// open (it does not exist, or a dangling symlink names it), which then answers the new file's stat.
    /// </summary>
    private WriteFileResponse? CreateOrStat(WriteFileOpen open)
    {
        if (!open.StatExisting || !open.Create || open.Truncate || open.InPlace || target.IsTargetless)
        {
            return null;
        }

        // O_EXCL first: a missing parent answers ENOENT/ENOTDIR and a refused directory EACCES, as
        // the program's own open(O_CREAT) would; a new file is made by the usual path below.
        var flags = OpenFlags.Path | (open.NoFollow ? OpenFlags.NoFollow : 0);
        using var existing = root.Open(open.Path, flags, out var errno);
        if (existing is null)
        {
            if (errno == Errno.ENOENT)
            {
                return null; // no such name (or a dangling symlink): the create makes it, or answers the parent's errno
            }

            return new WriteFileResponse { Error = PosixErrors.Of(errno) };
        }

        if (open.Exclusive)
        {
            return new WriteFileResponse { Error = PosixErrors.Of(Errno.EEXIST) };
        }

        errno = StatOf(existing, string.Empty, FileStat.NameOf(open.Path), out var stat);
        return errno == 0 ? new WriteFileResponse { Existed = true, Stat = stat } : new WriteFileResponse { Error = PosixErrors.Of(errno) };
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

    public override Task<SymlinkResponse> Symlink(SymlinkRequest request, ServerCallContext context)
    {
        // The target is only stored: nothing resolves it here, so it cannot reach outside the root.
        using var parent = root.OpenParent(request.Path, out var name, out var errno);
        if (parent is not null)
        {
            errno = RootedFiles.MakeSymlink(request.Target, parent, name);
        }

        AgentLog.FileLinked(logger, "symlink", request.Target, request.Path, errno);
        return Task.FromResult(new SymlinkResponse { Error = errno == 0 ? null : PosixErrors.Of(errno) });
    }

    public override Task<LinkResponse> Link(LinkRequest request, ServerCallContext context)
    {
        // Following: the symlink is resolved inside the root first, then linked by its fd; without,
        // the entry itself is linked by its parent and name (a symlink stays one).
        using var toParent = root.OpenParent(request.To, out var toName, out var errno);
        if (toParent is not null && request.FollowSymlinks)
        {
            using var file = root.Open(request.From, OpenFlags.Path, out errno);
            errno = file is null ? errno : RootedFiles.Link(file, toParent, toName);
        }
        else if (toParent is not null)
        {
            using var fromParent = root.OpenParent(request.From, out var fromName, out errno);
            errno = fromParent is null ? errno : RootedFiles.Link(fromParent, fromName, toParent, toName);
        }

        AgentLog.FileLinked(logger, request.FollowSymlinks ? "link -L" : "link", request.From, request.To, errno);
        return Task.FromResult(new LinkResponse { Error = errno == 0 ? null : PosixErrors.Of(errno) });
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
        System.Buffers.ArrayBufferWriter<byte>? appended = null;
        if (write.InPlace && StatOf(write.File, string.Empty, FileStat.NameOf(open.Path), out var before) == 0)
        {
            response.Before = before; // files.write-ranges: what the file was before this write
        }

        var offset = open.Truncate ? 0 : (long)open.Offset;
        while (await requestStream.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            if (requestStream.Current.PartCase == WriteFileRequest.PartOneofCase.Seek)
            {
                // files.write-ranges: the next range of an in-place write (a replacement has one range).
                if (!write.InPlace)
                {
                    response.Error = PosixErrors.Of(Errno.EINVAL);
                    return response;
                }

                offset = (long)Math.Min(requestStream.Current.Seek, long.MaxValue);
                continue;
            }

            if (open.Append && write.InPlace)
            {
                // One write(2) for the whole append where it fits: Linux never splits an O_APPEND
                // write, so a pod process's line cannot land inside the program's.
                appended ??= new System.Buffers.ArrayBufferWriter<byte>();
                System.Buffers.BuffersExtensions.Write(appended, requestStream.Current.Data.Span);
                if (appended.WrittenCount >= AtomicAppendBytes)
                {
                    if (!WriteOut(write.File, appended.WrittenSpan, ref offset, response))
                    {
                        return response;
                    }

                    appended.ResetWrittenCount();
                }

                continue;
            }

            if (!WriteOut(write.File, requestStream.Current.Data.Span, ref offset, response))
            {
                return response;
            }
        }

        if (appended is { WrittenCount: > 0 } && !WriteOut(write.File, appended.WrittenSpan, ref offset, response))
        {
            return response;
        }

        // In place, the file is cut after the bytes (truncate) or to the length asked (final_length,
        // files.write-ranges: a write-back of changed ranges of a file that got shorter), never before.
        var errno = open.InPlace && open.Truncate ? RootedFiles.Truncate(write.File, offset)
            : open.InPlace && open.HasFinalLength ? RootedFiles.Truncate(write.File, (long)Math.Min(open.FinalLength, long.MaxValue))
            : 0;

        // The write-back's mode and mtime (feature "files.write-attributes"), after every byte and
        // the cut so nothing moves the mtime again; the bytes are committed even when they fail.
        var attributes = errno == 0 ? FinalAttributes(write, open) : 0;
        errno = errno == 0 ? write.Commit() : errno;
        errno = errno == 0 ? attributes : errno;
        if (errno == 0)
        {
            errno = StatOf(write.File, string.Empty, FileStat.NameOf(open.Path), out var stat);
            response.Stat = errno == 0 ? stat : null;
        }

        response.Error = errno == 0 ? null : PosixErrors.Of(errno);
        return response;
    }

    /// <summary>The most bytes an appending write gathers into one write(2) (a bigger append is written in pieces of this size).</summary>
    private const int AtomicAppendBytes = 16 << 20;

    /// <summary>Writes <paramref name="data"/> at <paramref name="offset"/> (at the end for O_APPEND), counting it; false with the errno in the response.</summary>
    private static bool WriteOut(Microsoft.Win32.SafeHandles.SafeFileHandle file, ReadOnlySpan<byte> data, ref long offset, WriteFileResponse response)
    {
        while (!data.IsEmpty)
        {
            var r = RootedFiles.WriteAt(file, data, offset);
            if (r < 0)
            {
                response.Error = PosixErrors.Of((int)-r);
                return false;
            }

            data = data[(int)r..];
            offset += r;
            response.BytesWritten += (ulong)r;
        }

        return true;
    }

    /// <summary>fchmod and futimens of the written file with <c>final_mode</c>/<c>final_mtime</c>; 0 or the errno.</summary>
    private static int FinalAttributes(FileWrite write, WriteFileOpen open)
    {
        if (open.HasFinalMode && RootedAttributes.ChangeMode(write.File, string.Empty, (int)(open.FinalMode & 0xFFF), followSymlinks: true) is var modeErrno and not 0)
        {
            return modeErrno;
        }

        return open.FinalMtime is { } mtime
            ? RootedAttributes.ChangeTimes(write.File, string.Empty, null, (mtime.Seconds, mtime.Nanoseconds), followSymlinks: true)
            : 0;
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
