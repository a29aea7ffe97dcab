using System.Runtime.CompilerServices;

namespace Doppel.Linux.Seccomp;

/// <summary>The six raw syscall arguments of a <c>seccomp_data</c>.</summary>
[InlineArray(6)]
public struct SyscallArguments
{
    private ulong _element0;
}
