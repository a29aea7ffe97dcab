using System.Globalization;
using Doppel.Linux.Native;

namespace Doppel.Linux.Processes;

/// <summary>RLIMIT_NOFILE handling: .NET raises its own soft limit to the hard limit at start-up.</summary>
public static unsafe class ResourceLimits
{
    private const int RlimitNofile = 7;

    /// <summary>Sets this process's soft open-files limit (the hard limit stays); returns 0 or the errno.</summary>
    public static int SetOpenFilesSoftLimit(ulong soft)
    {
        var limits = stackalloc ulong[2];
        var r = LibC.Syscall(SyscallNumber.Prlimit64, 0, RlimitNofile, 0, (long)limits);
        if (r < 0)
        {
            return (int)-r;
        }

        limits[0] = Math.Min(soft, limits[1]);
        r = LibC.Syscall(SyscallNumber.Prlimit64, 0, RlimitNofile, (long)limits, 0);
        return r < 0 ? (int)-r : 0;
    }

    /// <summary>
    /// The soft open-files limit of process <paramref name="pid"/> (from /proc/PID/limits), or
    /// null when unreadable or unlimited. doppel's parent (the user's shell) still has the limit
    /// the user set, which doppel itself lost at start-up.
    /// </summary>
    public static ulong? ReadOpenFilesSoftLimit(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/limits"))
            {
                if (line.StartsWith("Max open files", StringComparison.Ordinal))
                {
                    var soft = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
                    return ulong.TryParse(soft, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }
}
