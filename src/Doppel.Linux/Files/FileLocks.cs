using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Doppel.Linux.Native;

namespace Doppel.Linux.Files;

/// <summary>
/// Byte-range and whole-file locks: <c>fcntl(2)</c>'s lock commands and <c>flock(2)</c>, with the
/// x86_64 <c>struct flock</c> (32 bytes: <c>short l_type</c> at 0, <c>short l_whence</c> at 2,
/// <c>off_t l_start</c> at 8, <c>off_t l_len</c> at 16, <c>pid_t l_pid</c> at 24). Constants are the
/// kernel's (include/uapi/asm-generic/fcntl.h).
/// </summary>
public static unsafe class FileLocks
{
    /// <summary>fcntl commands: classic POSIX record locks.</summary>
    public const int GetLock = 5, SetLock = 6, SetLockWait = 7;

    /// <summary>fcntl commands: open-file-description locks (Linux 3.15).</summary>
    public const int OfdGetLock = 36, OfdSetLock = 37, OfdSetLockWait = 38;

    /// <summary>l_type values.</summary>
    public const short ReadLock = 0, WriteLock = 1, Unlock = 2;

    /// <summary>flock operations.</summary>
    public const int Shared = 1, Exclusive = 2, NonBlocking = 4, UnlockAll = 8;

    /// <summary>The size of <c>struct flock</c> on x86_64.</summary>
    public const int FlockSize = 32;

    /// <summary>fcntl's six lock commands (the seccomp filter traps fcntl with these only).</summary>
    public static IReadOnlyList<int> LockCommands { get; } = [GetLock, SetLock, SetLockWait, OfdGetLock, OfdSetLock, OfdSetLockWait];

    /// <summary>Whether <paramref name="command"/> is one of fcntl's six lock commands (<see cref="LockCommands"/>).</summary>
    public static bool IsLockCommand(int command) => LockCommands.Contains(command);

    /// <summary>Reads a <c>struct flock</c>.</summary>
    public static LockRange Read(ReadOnlySpan<byte> flock) => new(
        BinaryPrimitives.ReadInt16LittleEndian(flock),
        BinaryPrimitives.ReadInt16LittleEndian(flock[2..]),
        BinaryPrimitives.ReadInt64LittleEndian(flock[8..]),
        BinaryPrimitives.ReadInt64LittleEndian(flock[16..]),
        BinaryPrimitives.ReadInt32LittleEndian(flock[24..]));

    /// <summary>Writes a <c>struct flock</c> (padding zeroed).</summary>
    public static void Write(Span<byte> flock, LockRange range)
    {
        flock[..FlockSize].Clear();
        BinaryPrimitives.WriteInt16LittleEndian(flock, range.Type);
        BinaryPrimitives.WriteInt16LittleEndian(flock[2..], range.Whence);
        BinaryPrimitives.WriteInt64LittleEndian(flock[8..], range.Start);
        BinaryPrimitives.WriteInt64LittleEndian(flock[16..], range.Length);
        BinaryPrimitives.WriteInt32LittleEndian(flock[24..], range.Pid);
    }

    /// <summary>
    /// fcntl(fd, <paramref name="command"/>, &amp;flock) with a lock command; returns 0 or the errno
    /// (EAGAIN or EACCES for a conflict of a non-waiting set, EINVAL, EBADF for a type the fd's
    /// access mode does not allow). A get command writes the conflicting lock (or F_UNLCK) back into <paramref name="range"/>.
    /// </summary>
    public static int Fcntl(SafeHandle file, int command, ref LockRange range)
    {
        var buffer = stackalloc byte[FlockSize];
        var span = new Span<byte>(buffer, FlockSize);
        Write(span, range);
        var r = LibC.Syscall(SyscallNumber.Fcntl, file.DangerousGetHandle(), command, (long)buffer);
        if (r < 0)
        {
            return (int)-r;
        }

        range = Read(span);
        return 0;
    }

    /// <summary>flock(fd, operation); returns 0 or the errno (EWOULDBLOCK for a conflict with LOCK_NB).</summary>
    public static int Flock(SafeHandle file, int operation)
    {
        var r = LibC.Syscall(SyscallNumber.Flock, file.DangerousGetHandle(), operation);
        return r < 0 ? (int)-r : 0;
    }
}
