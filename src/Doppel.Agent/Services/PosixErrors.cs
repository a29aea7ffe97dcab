using Doppel.Linux.Native;
using Doppel.Protocol.V1;

namespace Doppel.Agent.Services;

/// <summary>PosixError values for errnos and .NET exceptions.</summary>
internal static class PosixErrors
{
    public static PosixError Of(int errno) =>
        new() { Errno = errno, Message = StrError(errno) };

    public static PosixError From(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => Of(Errno.ENOENT),
        UnauthorizedAccessException => Of(Errno.EACCES),
        _ when e.HResult is > 0 and < 4096 => Of(e.HResult),
        _ => Of(Errno.EIO),
    };

    private static string StrError(int errno) =>
        System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno);
}
