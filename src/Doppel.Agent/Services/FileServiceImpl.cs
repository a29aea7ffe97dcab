using Doppel.Agent.Files;
using Doppel.Agent.Targets;
using Doppel.Linux.Files;
using Doppel.Linux.Native;
using Doppel.Protocol;
using Doppel.Protocol.V1;
using Doppel.Agent.Logging;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Doppel.Agent.Services;

/// <summary>
/// Calls on the target's files, every path resolved inside its root (<see cref="TargetRoot"/>);
/// reads here, writes in FileServiceImpl.Write.cs.
/// </summary>
internal sealed partial class FileServiceImpl(Target target, TargetRoot root, PodLocks locks, ILogger<FileServiceImpl> logger) : FileService.FileServiceBase
{
    public override Task<StatResponse> Stat(StatRequest request, ServerCallContext context)
    {
        AgentLog.FileStat(logger, request.Path);
        var flags = OpenFlags.Path | (request.FollowSymlinks ? 0 : OpenFlags.NoFollow);
        using var fd = root.Open(request.Path, flags, out var errno);
        if (fd is null)
        {
            return Task.FromResult(new StatResponse { Error = PosixErrors.Of(errno) });
        }

        var error = StatOf(fd, string.Empty, FileStat.NameOf(request.Path), out var stat);
        return Task.FromResult(error == 0 ? new StatResponse { Stat = stat } : new StatResponse { Error = PosixErrors.Of(error) });
    }

    public override Task<ReadlinkResponse> Readlink(ReadlinkRequest request, ServerCallContext context)
    {
        using var fd = root.Open(request.Path, OpenFlags.Path | OpenFlags.NoFollow, out var errno);
        if (fd is null)
        {
            return Task.FromResult(new ReadlinkResponse { Error = PosixErrors.Of(errno) });
        }

        errno = RootedFiles.ReadLink(fd, string.Empty, out var linkTarget);
        return Task.FromResult(errno == 0
            ? new ReadlinkResponse { Target = linkTarget }
            : new ReadlinkResponse { Error = PosixErrors.Of(errno == Errno.ENOENT ? Errno.EINVAL : errno) });
    }

    public override async Task ListDirectory(ListDirectoryRequest request, IServerStreamWriter<ListDirectoryResponse> responseStream, ServerCallContext context)
    {
        using var fd = root.Open(request.Path, OpenFlags.ReadOnly | OpenFlags.Directory, out var errno);
        if (fd is null)
        {
            await responseStream.WriteAsync(new ListDirectoryResponse { Error = PosixErrors.Of(errno) }, context.CancellationToken).ConfigureAwait(false);
            return;
        }

        // The names come from the directory the fd refers to (/proc/self/fd/N is that very
        // directory, not a path lookup); each entry is then stat'ed relative to the fd by one name.
        const int batchSize = 256;
        var batch = new ListDirectoryResponse();
        foreach (var entry in Directory.EnumerateFileSystemEntries($"/proc/self/fd/{fd.DangerousGetHandle()}"))
        {
            var name = Path.GetFileName(entry);
            if (StatOf(fd, name, name, out var stat) == 0)
            {
                batch.Entries.Add(stat);
            }

            if (batch.Entries.Count == batchSize)
            {
                await responseStream.WriteAsync(batch, context.CancellationToken).ConfigureAwait(false);
                batch = new ListDirectoryResponse();
            }
        }

        if (batch.Entries.Count > 0)
        {
            await responseStream.WriteAsync(batch, context.CancellationToken).ConfigureAwait(false);
        }
    }

    public override async Task ReadFile(ReadFileRequest request, IServerStreamWriter<ReadFileResponse> responseStream, ServerCallContext context)
    {
        AgentLog.FileRead(logger, request.Path);
        using var fd = root.Open(request.Path, OpenFlags.ReadOnly, out var errno);
        if (fd is null)
        {
            await responseStream.WriteAsync(new ReadFileResponse { Error = PosixErrors.Of(errno) }, context.CancellationToken).ConfigureAwait(false);
            return;
        }

        errno = StatOf(fd, string.Empty, FileStat.NameOf(request.Path), out var stat);
        if (errno == 0 && stat.IsDirectory)
        {
            errno = Errno.EISDIR;
        }

        if (errno != 0)
        {
            await responseStream.WriteAsync(new ReadFileResponse { Error = PosixErrors.Of(errno) }, context.CancellationToken).ConfigureAwait(false);
            return;
        }

        // The first message carries the stat; data follows in chunks of at most 64 KiB.
        var first = new ReadFileResponse { Stat = stat };
        var offset = (long)request.Offset;
        var remaining = request.Length == 0 ? long.MaxValue : (long)Math.Min(request.Length, long.MaxValue);
        while (remaining > 0)
        {
            var buffer = new byte[(int)Math.Min(Relay.ChunkSize, remaining)];
            int read;
            try
            {
                read = await RandomAccess.ReadAsync(fd, buffer, offset, context.CancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                first ??= new ReadFileResponse();
                first.Error = PosixErrors.From(e);
                await responseStream.WriteAsync(first, context.CancellationToken).ConfigureAwait(false);
                return;
            }

            if (read == 0)
            {
                break;
            }

            // A fresh buffer per chunk, so wrapping without a copy is safe (Relay's ownership rule).
            var message = first ?? new ReadFileResponse();
            message.Data = Relay.Wrap(buffer, read);
            await responseStream.WriteAsync(message, context.CancellationToken).ConfigureAwait(false);
            first = null;
            offset += read;
            remaining -= read;
        }

        if (first is not null)
        {
            await responseStream.WriteAsync(first, context.CancellationToken).ConfigureAwait(false);
        }
    }

    private static int StatOf(SafeFileHandle directory, string relative, string name, out FileStat stat)
    {
        var errno = RootedFiles.Stat(directory, relative, followSymlinks: false, out var info);
        if (errno != 0)
        {
            stat = new FileStat();
            return errno;
        }

        stat = new FileStat
        {
            Name = name,
            Mode = info.Mode,
            Uid = info.Uid,
            Gid = info.Gid,
            Size = info.Size,
            Nlink = info.Nlink,
            Ino = info.Inode,
            DevMajor = info.DevMajor,
            DevMinor = info.DevMinor,
            RdevMajor = info.RdevMajor,
            RdevMinor = info.RdevMinor,
            Blksize = info.BlockSize,
            Blocks = info.Blocks,
            Atime = new Timespec { Seconds = info.Atime.Seconds, Nanoseconds = info.Atime.Nanoseconds },
            Mtime = new Timespec { Seconds = info.Mtime.Seconds, Nanoseconds = info.Mtime.Nanoseconds },
            Ctime = new Timespec { Seconds = info.Ctime.Seconds, Nanoseconds = info.Ctime.Nanoseconds },
            Btime = new Timespec { Seconds = info.Btime.Seconds, Nanoseconds = info.Btime.Nanoseconds },
        };
        if (stat.IsSymlink && RootedFiles.ReadLink(directory, relative, out var link) == 0)
        {
            stat.LinkTarget = link;
        }

        return 0;
    }
}
