using System.Runtime.InteropServices;

namespace Doppel.Linux.Seccomp;

/// <summary><c>struct seccomp_notif_addfd</c> (24 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct SeccompAddFd
{
    public const uint FlagSetFd = 1;
    public const uint FlagSend = 2;

    public ulong Id;
    public uint Flags;
    public uint SourceFd;
    public uint NewFd;
    public uint NewFdFlags;
}
