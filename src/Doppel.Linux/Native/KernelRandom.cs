namespace Doppel.Linux.Native;

/// <summary>
/// Random bytes from the kernel's CSPRNG, getrandom(2) with no flags (blocks only until the pool
/// is first initialised at boot). For the agent, whose FROM-scratch image has no libssl: .NET's
/// <c>RandomNumberGenerator</c> on Linux calls OpenSSL's RAND_bytes, and where OpenSSL cannot be
/// loaded the runtime prints "No usable version of libssl was found" and aborts the process.
/// </summary>
public static class KernelRandom
{
    /// <summary>Fills <paramref name="buffer"/>. Throws <see cref="IOException"/> when the kernel refuses (ENOSYS before Linux 3.17).</summary>
    public static unsafe void Fill(Span<byte> buffer)
    {
        fixed (byte* start = buffer)
        {
            var done = 0;
            while (done < buffer.Length)
            {
                var r = LibC.Syscall(SyscallNumber.Getrandom, (long)(start + done), buffer.Length - done, 0);
                if (r == -Errno.EINTR)
                {
                    continue;
                }

                if (r < 0)
                {
                    throw new IOException($"getrandom failed with errno {-r}.");
                }

                done += (int)r;
            }
        }
    }

    /// <summary>A uniformly random 16-bit value (a DNS message ID, RFC 5452 §9.2).</summary>
    public static ushort UInt16()
    {
        Span<byte> bytes = stackalloc byte[2];
        Fill(bytes);
        return (ushort)(bytes[0] | (bytes[1] << 8));
    }

    /// <summary><paramref name="count"/> random bytes as lower-case hex (2 × <paramref name="count"/> characters).</summary>
    public static string Hex(int count)
    {
        Span<byte> bytes = stackalloc byte[count];
        Fill(bytes);
        return Convert.ToHexStringLower(bytes);
    }
}
