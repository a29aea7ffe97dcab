using Doppel.Linux.Native;

namespace Doppel.Linux.Processes;

/// <summary>geteuid(2): the user this process acts as (owner of the files it creates).</summary>
public static class EffectiveUser
{
    /// <summary>The effective user id (cannot fail).</summary>
    public static uint Id => (uint)LibC.Syscall(SyscallNumber.Geteuid);
}
