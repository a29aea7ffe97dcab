using System.Runtime.InteropServices;

namespace Doppel.Linux.Seccomp;

/// <summary>
/// <c>struct seccomp_notif</c> (80 bytes): one trapped syscall waiting for an answer.
/// <see cref="Pid"/> is the calling thread's id, not the process id.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct SeccompNotification
{
    public ulong Id;
    public uint Pid;
    public uint Flags;
    public int Nr;
    public uint Arch;
    public ulong InstructionPointer;
    public SyscallArguments Args;
}
