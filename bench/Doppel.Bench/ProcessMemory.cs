using System.Globalization;

namespace Doppel.Bench;

/// <summary>Reads processes' resident memory and children from /proc.</summary>
internal static class ProcessMemory
{
    /// <summary>VmRSS of <paramref name="pid"/> in MiB.</summary>
    public static double ResidentMebibytes(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"/proc/{pid}/status has no VmRSS (a zombie?).");
        var kibibytes = long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        return kibibytes / 1024.0;
    }

    /// <summary>
    /// CPU time <paramref name="pid"/>'s threads have used (user + system, /proc/PID/stat fields 14
    /// and 15, in clock ticks of 10 ms: USER_HZ is 100 on Linux x86-64), in microseconds.
    /// </summary>
    public static long CpuMicroseconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        // "PID (comm) S PPID ...": comm may hold spaces and ')', so split after the last ')'.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return ticks * 10_000;
    }

    /// <summary>The children of <paramref name="parent"/> whose comm is <paramref name="name"/>.</summary>
    public static IReadOnlyList<int> Children(int parent, string name)
    {
        var found = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                // "PID (comm) S PPID ...": comm may hold spaces and ')', so split after the last ')'.
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var close = stat.LastIndexOf(')');
                var comm = stat[(stat.IndexOf('(', StringComparison.Ordinal) + 1)..close];
                var ppid = int.Parse(stat[(close + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
                if (ppid == parent && comm == name)
                {
                    found.Add(pid);
                }
            }
            catch (IOException)
            {
                // Exited while we looked.
            }
        }

        return found;
    }
}
