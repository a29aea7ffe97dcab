using System.Buffers.Binary;
using Doppel.Interception.Remote;

namespace Doppel.Interception.Files;

/// <summary>Builds x86_64 <c>struct stat</c> (144 bytes) and <c>struct statx</c> (256 bytes) from remote metadata.</summary>
internal static class StatLayout
{
    public const int StatLength = 144;
    public const int StatxLength = 256;
    private const uint StatxBasicStats = 0x7ff;
    private const int BlockSize = 4096;

    public static int FileType(RemoteEntryKind kind) => kind switch
    {
        RemoteEntryKind.Directory => 0x4000,
        RemoteEntryKind.Symlink => 0xa000,
        _ => 0x8000,
    };

    public static void WriteStat(Span<byte> buffer, RemoteEntry entry, ulong device, ulong inode)
    {
        buffer[..StatLength].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(buffer, device);
        BinaryPrimitives.WriteUInt64LittleEndian(buffer[8..], inode);
        BinaryPrimitives.WriteUInt64LittleEndian(buffer[16..], entry.Kind == RemoteEntryKind.Directory ? 2UL : 1UL);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[24..], (uint)(FileType(entry.Kind) | (entry.Mode & 0xfff)));
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[28..], (uint)entry.Uid);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[32..], (uint)entry.Gid);
        BinaryPrimitives.WriteInt64LittleEndian(buffer[48..], entry.Size);
        BinaryPrimitives.WriteInt64LittleEndian(buffer[56..], BlockSize);
        BinaryPrimitives.WriteInt64LittleEndian(buffer[64..], entry.Blocks ?? Blocks(entry.Size));
        WriteTimespec(buffer[72..], entry.LastAccessTime);
        WriteTimespec(buffer[88..], entry.LastWriteTime);
        WriteTimespec(buffer[104..], entry.LastWriteTime);
    }

    public static void WriteStatx(Span<byte> buffer, RemoteEntry entry, ulong device, ulong inode)
    {
        buffer[..StatxLength].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(buffer, StatxBasicStats);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[4..], BlockSize);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[16..], entry.Kind == RemoteEntryKind.Directory ? 2U : 1U);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[20..], (uint)entry.Uid);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[24..], (uint)entry.Gid);
        BinaryPrimitives.WriteUInt16LittleEndian(buffer[28..], (ushort)(FileType(entry.Kind) | (entry.Mode & 0xfff)));
        BinaryPrimitives.WriteUInt64LittleEndian(buffer[32..], inode);
        BinaryPrimitives.WriteInt64LittleEndian(buffer[40..], entry.Size);
        BinaryPrimitives.WriteInt64LittleEndian(buffer[48..], entry.Blocks ?? Blocks(entry.Size));
        WriteStatxTimestamp(buffer[64..], entry.LastAccessTime);
        WriteStatxTimestamp(buffer[96..], entry.LastWriteTime);
        WriteStatxTimestamp(buffer[112..], entry.LastWriteTime);

        // new_encode_dev: major in bits 8..19 (+ high bits), minor in bits 0..7 and 20..31.
        var major = (uint)((device >> 8) & 0xfff) | (uint)((device >> 32) & ~0xfffUL);
        var minor = (uint)(device & 0xff) | (uint)((device >> 12) & ~0xffUL);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[136..], major);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[140..], minor);
    }

    private static long Blocks(long size) => (size + 511) / 512;

    private static void WriteTimespec(Span<byte> buffer, DateTimeOffset time)
    {
        var (seconds, nanoseconds) = Split(time);
        BinaryPrimitives.WriteInt64LittleEndian(buffer, seconds);
        BinaryPrimitives.WriteInt64LittleEndian(buffer[8..], nanoseconds);
    }

    private static void WriteStatxTimestamp(Span<byte> buffer, DateTimeOffset time)
    {
        var (seconds, nanoseconds) = Split(time);
        BinaryPrimitives.WriteInt64LittleEndian(buffer, seconds);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[8..], (uint)nanoseconds);
    }

    private static (long Seconds, long Nanoseconds) Split(DateTimeOffset time)
    {
        var ticks = time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out var rest);
        if (rest < 0)
        {
            seconds--;
            rest += TimeSpan.TicksPerSecond;
        }

        return (seconds, rest * 100);
    }
}
