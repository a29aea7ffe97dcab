using Doppel.Linux.Native;

namespace Doppel.Linux.Processes;

/// <summary>
/// A write-only stream onto fd 1 or 2 that writes with <c>write(2)</c> as .NET's console stream
/// does (a broken pipe drops the write, a non-blocking descriptor is waited on, other errors throw
/// <see cref="IOException"/>), but without .NET's console behind it: the first write through
/// <see cref="Console.Out"/> or <see cref="Console.Error"/> initialises the console, which writes
/// the terminal's keypad-transmit string (<c>\e[?1h\e=</c>, application cursor keys) when stdout
/// is a terminal and never writes its reset, so the terminal is left in that mode after doppel,
/// and the program doppel runs starts in it. The descriptor is not closed by the stream.
/// </summary>
public sealed unsafe class StandardOutputStream : Stream
{
    private const short PollOut = 4;
    private readonly int _fd;

    /// <summary>A stream onto <paramref name="fd"/> (1 or 2), which stays open when the stream is disposed.</summary>
    public StandardOutputStream(int fd)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(fd, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(fd, 2);
        _fd = fd;
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        Write(buffer.AsSpan(offset, count));
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        fixed (byte* start = buffer)
        {
            var data = start;
            var left = buffer.Length;
            while (left > 0)
            {
                var written = LibC.Syscall(SyscallNumber.Write, _fd, (long)data, left);
                if (written >= 0)
                {
                    data += written;
                    left -= (int)written;
                }
                else if (written == -Errno.EPIPE)
                {
                    // The reader is gone (`doppel status | head -1`): what it would have read is dropped, as by .NET's console.
                    return;
                }
                else if (written == -Errno.EAGAIN)
                {
                    // A program sharing the terminal made its file description non-blocking (node does): wait until it takes more.
                    long pfd = 0;
                    var p = (int*)&pfd;
                    p[0] = _fd;
                    ((short*)p)[2] = PollOut;
                    LibC.Syscall(SyscallNumber.Poll, (long)&pfd, 1, -1);
                }
                else if (written != -Errno.EINTR)
                {
                    throw new IOException($"writing to fd {_fd} failed (errno {-written}).", (int)-written);
                }
            }
        }
    }
}
