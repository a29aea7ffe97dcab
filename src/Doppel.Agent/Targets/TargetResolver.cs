using System.Globalization;

namespace Doppel.Agent.Targets;

/// <summary>Turns <c>pid/N</c>, <c>container/ID</c> or <c>targetless</c> (with an optional --netns) into a <see cref="Target"/>.</summary>
internal static class TargetResolver
{
    public static Target Resolve(string spec, string? netns = null)
    {
        if (spec == "targetless")
        {
            if (netns is not null && (netns.Length == 0 || (!netns.StartsWith('/') && netns.Contains('/', StringComparison.Ordinal))))
            {
                throw new TargetException($"The network namespace '{netns}' is neither a name under /run/netns nor an absolute path.");
            }

            var target = Target.Targetless(netns);
            return target.TargetlessNamespacePath is null || File.Exists(target.TargetlessNamespacePath)
                ? target
                : throw new TargetException($"The network namespace {target.TargetlessNamespacePath} does not exist; check `ip netns list`.");
        }

        if (netns is not null)
        {
            throw new TargetException("The option --netns only applies to --target targetless; a target process brings its own network namespace.");
        }

        if (spec.StartsWith("pid/", StringComparison.Ordinal))
        {
            if (!int.TryParse(spec.AsSpan(4), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid <= 0)
            {
                throw new TargetException($"The target '{spec}' is not a valid process id; use pid/N with N a positive number.");
            }

            if (!Directory.Exists($"/proc/{pid}"))
            {
                throw new TargetException($"No process with id {pid} exists on this machine; check the PID and try again.");
            }

            return new Target(pid, string.Empty);
        }

        if (spec.StartsWith("container/", StringComparison.Ordinal))
        {
            var id = spec["container/".Length..];
            if (id.Length == 0 || id.Contains('/', StringComparison.Ordinal))
            {
                throw new TargetException($"The target '{spec}' has no valid container id; use container/ID.");
            }

            return new Target(FindContainerPid(id), id);
        }

        throw new TargetException($"The target '{spec}' is not understood; use pid/N, container/ID or targetless.");
    }

    /// <summary>
    /// The lowest PID whose /proc/PID/cgroup has a line ending in the container id (containerd,
    /// CRI-O, Docker and runc all end the cgroup path with it, sometimes as "...-ID.scope").
    /// </summary>
    private static int FindContainerPid(string id)
    {
        var best = int.MaxValue;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid >= best)
            {
                continue;
            }

            string[] lines;
            try
            {
                lines = File.ReadAllLines(Path.Combine(dir, "cgroup"));
            }
            catch (IOException)
            {
                continue; // the process went away meanwhile
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }

            foreach (var line in lines)
            {
                var path = line.EndsWith(".scope", StringComparison.Ordinal) ? line[..^".scope".Length] : line;
                if (path.EndsWith("/" + id, StringComparison.Ordinal) || path.EndsWith("-" + id, StringComparison.Ordinal))
                {
                    best = pid;
                    break;
                }
            }
        }

        return best != int.MaxValue
            ? best
            : throw new TargetException($"No running process belongs to container {id}; check the container id and that it is running on this machine.");
    }
}
