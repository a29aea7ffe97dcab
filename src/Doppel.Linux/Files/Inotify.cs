using System.Buffers.Binary;
using System.Text;
using Doppel.Linux.Native;
using Microsoft.Win32.SafeHandles;

namespace Doppel.Linux.Files;

/// <summary>A minimal inotify instance: watch directories, read (watch, mask, name) events.</summary>
public sealed unsafe class Inotify : IDisposable
{
    public const uint CloseWrite = 0x8;
    private const int InCloexec = 0x80000;
    private const int InNonblock = 0x800;

    private readonly SafeFileHandle _handle;
    private readonly byte[] _buffer = new byte[16 * 1024];

    public Inotify()
    {
        var fd = LibC.Syscall(SyscallNumber.InotifyInit1, InCloexec | InNonblock);
        if (fd < 0)
        {
            throw new IOException($"inotify_init1 failed (errno {-fd}).");
        }

        _handle = new SafeFileHandle((nint)fd, ownsHandle: true);
    }

    /// <summary>Adds (or updates) a watch; returns the watch descriptor or <c>-errno</c>.</summary>
    public int AddWatch(string path, uint mask)
    {
        var pathZ = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = pathZ)
        {
            return (int)LibC.Syscall(SyscallNumber.InotifyAddWatch, _handle.DangerousGetHandle(), (long)p, mask);
        }
    }

    /// <summary>Waits up to <paramref name="timeoutMilliseconds"/> for events to read.</summary>
    public bool Wait(int timeoutMilliseconds)
    {
        long pfd = 0;
        var p = (int*)&pfd;
        p[0] = (int)_handle.DangerousGetHandle();
        ((short*)p)[2] = 1; // POLLIN
        return LibC.Syscall(SyscallNumber.Poll, (long)&pfd, 1, timeoutMilliseconds) > 0;
    }

    /// <summary>Reads the events queued now, without waiting (empty when none).</summary>
    public List<(int Watch, uint Mask, string Name)> ReadAvailable()
    {
        var events = new List<(int, uint, string)>();
        long count;
        fixed (byte* b = _buffer)
        {
            count = LibC.Syscall(SyscallNumber.Read, _handle.DangerousGetHandle(), (long)b, _buffer.Length);
        }

        for (var at = 0; at + 16 <= count;)
        {
            var span = _buffer.AsSpan(at);
            var watch = BinaryPrimitives.ReadInt32LittleEndian(span);
            var mask = BinaryPrimitives.ReadUInt32LittleEndian(span[4..]);
            var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(span[12..]);
            var name = span.Slice(16, length);
            var nul = name.IndexOf((byte)0);
            events.Add((watch, mask, Encoding.UTF8.GetString(nul < 0 ? name : name[..nul])));
            at += 16 + length;
        }

        return events;
    }

    public void Dispose() => _handle.Dispose();
}
