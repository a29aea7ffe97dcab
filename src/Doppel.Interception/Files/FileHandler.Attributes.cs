using System.Buffers.Binary;
using Doppel.Interception.Policy;
using Doppel.Interception.Remote;
using Doppel.Interception.Supervision;
using Doppel.Linux.Native;

namespace Doppel.Interception.Files;

/// <summary>
/// Write mode: chmod/chown/utimensat on remote paths are applied on the remote side at once
/// (<see cref="IRemote.SetAttributesAsync"/>), and the cache copy follows so a later write-back
/// does not undo them. The fd forms (fchmod, fchown, futimens, AT_EMPTY_PATH) stay in the
/// kernel and change the cache copy of a file the app has open; its mode and modification
/// time travel with the write-back (what <c>cp -p</c> relies on). Owner changes through an fd
/// are not carried: the cache copy's owner is the supervisor's, not the remote one.
/// </summary>
internal sealed partial class FileHandler
{
    private const long UtimeNow = (1L << 30) - 1;
    private const long UtimeOmit = (1L << 30) - 2;
    private const long NanosecondsPerSecond = 1_000_000_000;

    private ValueTask<HandlerResult> ChmodAsync(Notification n, int dirfd, ulong pathAddress, int mode, bool follow, CancellationToken cancellationToken)
        => SetAttributesAsync(n, dirfd, pathAddress, new RemoteAttributes { Mode = mode & 0xfff }, follow, cancellationToken);

    private ValueTask<HandlerResult> ChownAsync(Notification n, int dirfd, ulong pathAddress, int uid, int gid, bool follow, CancellationToken cancellationToken)
    {
        // -1 leaves that id as it is.
        var attributes = new RemoteAttributes { Uid = uid == -1 ? null : uid, Gid = gid == -1 ? null : gid };
        return SetAttributesAsync(n, dirfd, pathAddress, attributes, follow, cancellationToken);
    }

    private ValueTask<HandlerResult> UtimensatAsync(Notification n, CancellationToken cancellationToken)
    {
        // struct timespec times[2] { access, modification }; NULL sets both to now. Read before
        // the path, whose decision checks the caller is still there after all reads.
        var times = n.Arg(2);
        RemoteAttributes? attributes;
        if (times == 0)
        {
            var now = DateTimeOffset.UtcNow;
            attributes = new RemoteAttributes { LastAccessTime = now, LastWriteTime = now };
        }
        else
        {
            Span<byte> raw = stackalloc byte[32];
            if (!n.Read(times, raw))
            {
                return new(n.Continue()); // the kernel reports the bad pointer
            }

            var access = Timestamp(raw[..16], out var accessValid);
            var write = Timestamp(raw[16..], out var writeValid);
            attributes = accessValid && writeValid ? new RemoteAttributes { LastAccessTime = access, LastWriteTime = write } : null;
        }

        var follow = Follows(n.ArgInt(3));
        var (path, early) = Decide(n, n.ArgInt(0), n.Arg(1), FileIntent.Write);
        if (path is null)
        {
            return new(early!.Value);
        }

        return attributes is null ? new(n.Fail(Errno.EINVAL)) : SetRemoteAttributesAsync(n, path, attributes, follow, cancellationToken);
    }

    /// <summary>One timespec: null for UTIME_OMIT, the supervisor's clock for UTIME_NOW ("now" on both sides is close enough).</summary>
    private static DateTimeOffset? Timestamp(ReadOnlySpan<byte> timespec, out bool valid)
    {
        var seconds = BinaryPrimitives.ReadInt64LittleEndian(timespec);
        var nanoseconds = BinaryPrimitives.ReadInt64LittleEndian(timespec[8..]);
        valid = true;
        switch (nanoseconds)
        {
            case UtimeOmit:
                return null;
            case UtimeNow:
                return DateTimeOffset.UtcNow;
            case < 0 or >= NanosecondsPerSecond:
                valid = false;
                return null;
            default:
                return DateTimeOffset.UnixEpoch.AddSeconds(seconds).AddTicks(nanoseconds / 100);
        }
    }

    private ValueTask<HandlerResult> SetAttributesAsync(Notification n, int dirfd, ulong pathAddress, RemoteAttributes attributes, bool follow, CancellationToken cancellationToken)
    {
        var (path, early) = Decide(n, dirfd, pathAddress, FileIntent.Write);
        return path is null ? new(early!.Value) : SetRemoteAttributesAsync(n, path, attributes, follow, cancellationToken);
    }

    private ValueTask<HandlerResult> SetRemoteAttributesAsync(Notification n, string path, RemoteAttributes attributes, bool follow, CancellationToken cancellationToken)
        => Remotely(n, async () =>
        {
            // A write-back under way carries the copy's old mode and times: let it land first.
            await files.FlushAsync(path, cancellationToken).ConfigureAwait(false);
            await remote.SetAttributesAsync(path, attributes, follow, cancellationToken).ConfigureAwait(false);
            files.ApplyAttributes(path, attributes);
        });
}
