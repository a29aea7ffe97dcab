namespace Doppel.Testing.Tests.Support;

/// <summary>What of a mini-cluster instance is still on the machine.</summary>
internal static class Leftovers
{
    public static async Task<List<string>> FindAsync(string prefix, IEnumerable<int> pids, IEnumerable<string> containerIds, string workDirectory)
    {
        var found = new List<string>();
        var netns = await Run(["ip", "netns", "list"]);
        found.AddRange(netns.Split('\n').Where(l => l.StartsWith(prefix)).Select(l => $"netns {l}"));
        if (Directory.Exists("/etc/netns"))
        {
            found.AddRange(Directory.GetDirectories("/etc/netns", prefix + "*").Select(d => $"dir {d}"));
        }

        foreach (var mountinfo in new[] { "/proc/self/mountinfo", "/proc/1/mountinfo" })
        {
            found.AddRange(File.ReadAllLines(mountinfo).Where(l => l.Contains(prefix)).Select(l => $"mount {l}"));
        }

        found.AddRange(pids.Where(IsAlive).Select(p => $"process {p}"));
        if (Directory.Exists(workDirectory))
        {
            found.Add($"dir {workDirectory}");
        }

        foreach (var id in containerIds)
        {
            var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint };
            found.AddRange(Directory.EnumerateDirectories("/sys/fs/cgroup", id, options).Select(d => $"cgroup {d}"));
            found.AddRange(ProcessesInCgroup(id).Select(p => $"process {p} in container {id}"));
        }

        return found;
    }

    /// <summary>PIDs whose /proc/PID/cgroup names <paramref name="containerId"/>: how the agent finds a container.</summary>
    public static List<int> ProcessesInCgroup(string containerId)
    {
        var pids = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                // Zombies are dead; the host's init reaps them when it gets to it.
                if (File.ReadAllText(Path.Join(dir, "cgroup")).Contains(containerId) && IsAlive(pid))
                {
                    pids.Add(pid);
                }
            }
            catch (IOException)
            {
                // Exited meanwhile.
            }
        }

        return pids;
    }

    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static async Task<string> Run(string[] command)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(command[0], command.Skip(1)) { RedirectStandardOutput = true })!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return output;
    }
}
