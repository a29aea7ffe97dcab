using System.Text;
using Doppel.Linux.Native;

namespace Doppel.Linux.Processes;

/// <summary>
/// Reads and writes another process's memory with process_vm_readv/writev. Callers that act on
/// what they read from a seccomp-stopped thread must check the notification id afterwards.
/// </summary>
public static unsafe class ProcessMemory
{
    private const int PageSize = 4096;
    private const int FirstChunk = 256;

    private struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    /// <summary>Reads up to <c>buffer.Length</c> bytes; returns the count read or <c>-errno</c>.</summary>
    public static int Read(int pid, ulong address, Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        fixed (byte* p = buffer)
        {
            var local = new IoVec { Base = p, Length = (nuint)buffer.Length };
            var remote = new IoVec { Base = (void*)address, Length = (nuint)buffer.Length };
            return (int)LibC.Syscall(SyscallNumber.ProcessVmReadv, pid, (long)&local, 1, (long)&remote, 1, 0);
        }
    }

    /// <summary>Reads exactly <c>buffer.Length</c> bytes; false if any part is unreadable.</summary>
    public static bool ReadExactly(int pid, ulong address, Span<byte> buffer)
        => Read(pid, address, buffer) == buffer.Length;

    /// <summary>Writes the buffer; returns the count written or <c>-errno</c>.</summary>
    public static int Write(int pid, ulong address, ReadOnlySpan<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        fixed (byte* p = buffer)
        {
            var local = new IoVec { Base = p, Length = (nuint)buffer.Length };
            var remote = new IoVec { Base = (void*)address, Length = (nuint)buffer.Length };
            return (int)LibC.Syscall(SyscallNumber.ProcessVmWritev, pid, (long)&local, 1, (long)&remote, 1, 0);
        }
    }

    /// <summary>
    /// Reads a NUL-terminated UTF-8 string of at most <paramref name="maxBytes"/> bytes. Reads stop
    /// at page boundaries, so a string that ends just before an unmapped page still reads.
    /// Returns null when the memory is unreadable or no NUL is found (ENAMETOOLONG territory).
    /// </summary>
    public static string? ReadCString(int pid, ulong address, int maxBytes = PageSize)
    {
        if (address == 0)
        {
            return null;
        }

        var buffer = maxBytes <= PageSize ? stackalloc byte[maxBytes] : new byte[maxBytes];
        var got = 0;
        while (got < maxBytes)
        {
            var at = address + (ulong)got;
            // Most paths are short: read a small first chunk, then whole pages.
            var chunk = (int)Math.Min((ulong)(maxBytes - got), PageSize - (at % PageSize));
            if (got == 0)
            {
                chunk = Math.Min(chunk, FirstChunk);
            }

            var r = Read(pid, at, buffer.Slice(got, chunk));
            if (r <= 0)
            {
                return null;
            }

            var nul = buffer.Slice(got, r).IndexOf((byte)0);
            if (nul >= 0)
            {
                return Encoding.UTF8.GetString(buffer[..(got + nul)]);
            }

            got += r;
        }

        return null;
    }
}
