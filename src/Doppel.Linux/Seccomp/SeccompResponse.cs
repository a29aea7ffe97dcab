using System.Runtime.InteropServices;

namespace Doppel.Linux.Seccomp;

/// <summary><c>struct seccomp_notif_resp</c> (24 bytes). <see cref="Error"/> is <c>-errno</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct SeccompResponse
{
    public const uint FlagContinue = 1;

    public ulong Id;
    public long Value;
    public int Error;
    public uint Flags;

    public static SeccompResponse Continue(ulong id) => new() { Id = id, Flags = FlagContinue };

    public static SeccompResponse Return(ulong id, long value) => new() { Id = id, Value = value };

    public static SeccompResponse Fail(ulong id, int errno) => new() { Id = id, Error = -errno };
}
