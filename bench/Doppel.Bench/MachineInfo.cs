using System.Runtime.InteropServices;

namespace Doppel.Bench;

/// <summary>The one-line description of the machine printed above the figures.</summary>
internal static class MachineInfo
{
    public static string Describe()
    {
        var kernel = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        var cpu = File.ReadLines("/proc/cpuinfo")
            .FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
        var load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
        return $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC · {Environment.ProcessorCount} CPUs ({cpu}) · Linux {kernel} · " +
            $"{RuntimeInformation.FrameworkDescription} · load average {load} at start";
    }
}
