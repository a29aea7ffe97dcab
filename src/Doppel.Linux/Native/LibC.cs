using System.Runtime.InteropServices;

namespace Doppel.Linux.Native;

/// <summary>
/// The one libc entry point doppel needs: <c>syscall(2)</c>. Everything else is a raw
/// syscall number, so the launcher can keep using this (already bound) stub after its
/// seccomp filter is in place, when nothing that might open a file may run.
/// </summary>
internal static partial class LibC
{
    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long SyscallRaw(long number, long a1, long a2, long a3, long a4, long a5, long a6);

    /// <summary>Runs a syscall; returns the result, or <c>-errno</c> on failure (kernel convention).</summary>
    public static long Syscall(long number, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0, long a6 = 0)
    {
        var result = SyscallRaw(number, a1, a2, a3, a4, a5, a6);
        return result == -1 ? -Marshal.GetLastPInvokeError() : result;
    }

    /// <summary>
    /// The same call without the errno bookkeeping: the launcher's post-filter path uses it
    /// (a -1 result is all it needs to know).
    /// </summary>
    public static long SyscallNoErrno(long number, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0, long a6 = 0)
        => SyscallRaw(number, a1, a2, a3, a4, a5, a6);
}
