using System.Globalization;

namespace Doppel.Linux.Processes;

/// <summary>
/// Fields of <c>/proc/PID/status</c> and <c>/proc/PID/comm</c> (proc(5)) that tell which processes a
/// seccomp filter still holds and how they take a signal.
/// </summary>
public static class ProcessDetails
{
    /// <summary>
    /// The number of seccomp filters <paramref name="pid"/> runs under (<c>Seccomp_filters</c>; a
    /// zombie keeps its filters until it is reaped); null when the process is gone.
    /// </summary>
    public static int? SeccompFilters(int pid)
    {
        var status = Status(pid);
        return status is null ? null : (int)Field(status, "Seccomp_filters:");
    }

    /// <summary>True while <paramref name="pid"/> exists and has not exited (its <c>State</c> is not Z, zombie, or X, dead).</summary>
    public static bool IsAlive(int pid)
    {
        var status = Status(pid);
        if (status is null)
        {
            return false;
        }

        foreach (var line in status.AsSpan().EnumerateLines())
        {
            if (line.StartsWith("State:", StringComparison.Ordinal))
            {
                var state = line["State:".Length..].Trim();
                return state.Length > 0 && state[0] is not ('Z' or 'X');
            }
        }

        return false;
    }

    /// <summary>The thread group (process) a thread belongs to (<c>Tgid</c>); null when it is gone.</summary>
    public static int? ThreadGroup(int threadId)
    {
        var status = Status(threadId);
        return status is null ? null : (int)Field(status, "Tgid:");
    }

    /// <summary>The command name (<c>comm</c>, at most 15 characters); "?" when the process is gone.</summary>
    public static string Name(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").TrimEnd('\n');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "?";
        }
    }

    /// <summary>
    /// True when <paramref name="pid"/> has a handler of its own for <paramref name="signal"/> (SigCgt
    /// of its main thread): it acts on the signal rather than dying of it or ignoring it. Whether the
    /// signal is blocked (SigBlk) does not count: blocking is momentary (a shell blocks every signal
    /// around its wait for a child and while it forks; a running handler blocks its own signal), and the
    /// handler runs once it is unblocked. Reading SigBlk made the answer depend on the instant it was
    /// read: dash's <c>trap … INT</c> read as not catching in most runs.
    /// </summary>
    public static bool Catches(int pid, int signal)
    {
        var status = Status(pid);
        if (status is null)
        {
            return false;
        }

        var bit = 1UL << (signal - 1);
        return (Field(status, "SigCgt:", hex: true) & bit) != 0;
    }

    private static string? Status(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/status");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static ulong Field(string status, string name, bool hex = false)
    {
        foreach (var line in status.AsSpan().EnumerateLines())
        {
            if (line.StartsWith(name, StringComparison.Ordinal))
            {
                var value = line[name.Length..].Trim();
                return ulong.TryParse(value, hex ? NumberStyles.HexNumber : NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) ? parsed : 0;
            }
        }

        return 0;
    }
}
