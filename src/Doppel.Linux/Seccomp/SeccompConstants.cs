namespace Doppel.Linux.Seccomp;

/// <summary>Constants of the seccomp ABI (include/uapi/linux/seccomp.h, linux/filter.h, linux/audit.h).</summary>
public static class SeccompConstants
{
    public const uint RetKillProcess = 0x80000000;
    public const uint RetErrno = 0x00050000;
    public const uint RetUserNotif = 0x7fc00000;
    public const uint RetAllow = 0x7fff0000;

    public const uint AuditArchX8664 = 0xc000003e;

    /// <summary>Syscall numbers with this bit set are the x32 ABI (same audit arch as x86_64).</summary>
    public const uint X32SyscallBit = 0x40000000;

    public const int SetModeFilter = 1;
    public const int FilterFlagNewListener = 8;
    public const int FilterFlagWaitKillableRecv = 32;

    internal const ulong IoctlNotifRecv = 0xc0502100;
    internal const ulong IoctlNotifSend = 0xc0182101;
    internal const ulong IoctlNotifIdValid = 0x40082102;
    internal const ulong IoctlNotifAddFd = 0x40182103;
    internal const ulong IoctlNotifSetFlags = 0x40082104;
    internal const ulong UserNotifFdSyncWakeUp = 1;

    /// <summary>Offsets into <c>struct seccomp_data</c> for BPF loads.</summary>
    public const uint DataOffsetNr = 0;
    public const uint DataOffsetArch = 4;
    public const uint DataOffsetArgs = 16;
}
