using System.Diagnostics;
using System.Globalization;

namespace Doppel.Testing.Internal;

/// <summary>
/// What a test host that died without disposing (SIGKILL, a blame-hang timeout) left behind.
/// Each instance records its owner (PID and start time) and the PIDs it started in its work
/// directory; an instance whose owner is gone is removed by the next cluster that starts on
/// the machine. Instances of living owners, in this process or another, are never touched.
/// </summary>
internal static class Orphans
{
    public const string OwnerFile = ".minicluster-owner";
    public const string PidsFile = ".minicluster-pids";

    private static readonly SemaphoreSlim s_gate = new(1, 1);
    private static readonly Lock s_pidsLock = new();

    public static void RecordOwner(string workDirectory)
        => File.WriteAllText(Path.Join(workDirectory, OwnerFile), Identity(Environment.ProcessId) + "\n");

    /// <summary>Remembers a process this instance started, by PID and start time (a PID alone may be reused).</summary>
    public static void RecordProcess(string workDirectory, int pid)
    {
        var identity = Identity(pid);
        if (identity is not null)
        {
            lock (s_pidsLock)
            {
                File.AppendAllText(Path.Join(workDirectory, PidsFile), identity + "\n");
            }
        }
    }

    /// <summary>Removes every orphaned instance; returns what it removed. Failures are reported, not thrown.</summary>
    public static async Task<IReadOnlyList<string>> RemoveAsync(Action<string>? log, CancellationToken cancellationToken)
    {
        var removed = new List<string>();
        await s_gate.WaitAsync(cancellationToken);
        try
        {
            foreach (var directory in Directory.EnumerateDirectories(Path.GetTempPath(), "doppel-*"))
            {
                var prefix = Path.GetFileName(directory)["doppel-".Length..];
                var owner = Path.Join(directory, OwnerFile);
                if (!Names.Prefix().IsMatch(prefix) || !File.Exists(owner) || IsRunning(File.ReadAllText(owner).Trim()))
                {
                    continue;
                }

                log?.Invoke($"removing mini-cluster {prefix}, whose test host is gone");
                try
                {
                    await RemoveAsync(prefix, directory, cancellationToken);
                    removed.Add(prefix);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    log?.Invoke($"could not remove orphaned mini-cluster {prefix}: {e.Message}");
                }
            }
        }
        finally
        {
            s_gate.Release();
        }

        return removed;
    }

    private static async Task RemoveAsync(string prefix, string directory, CancellationToken cancellationToken)
    {
        var pids = Path.Join(directory, PidsFile);
        if (File.Exists(pids))
        {
            foreach (var identity in File.ReadAllLines(pids).Where(IsRunning))
            {
                using var process = Process.GetProcessById(int.Parse(identity.Split(' ')[0], CultureInfo.InvariantCulture));
                Commands.Kill(process);
            }
        }

        var runcRoot = Path.Join(directory, "runc");
        if (Directory.Exists(runcRoot))
        {
            var ids = await Commands.CheckedAsync(cancellationToken, "runc", "--root", runcRoot, "list", "--quiet");
            foreach (var id in ids.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                await Commands.CheckedAsync(cancellationToken, "runc", "--root", runcRoot, "delete", "--force", id);
            }
        }

        var namespaces = await Commands.CheckedAsync(cancellationToken, "ip", "netns", "list");
        foreach (var line in namespaces.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = line.Split(' ')[0];
            if (name.StartsWith(prefix + "-", StringComparison.Ordinal))
            {
                await Commands.CheckedAsync(cancellationToken, "ip", "netns", "delete", name);
            }
        }

        if (Directory.Exists("/etc/netns"))
        {
            foreach (var etc in Directory.EnumerateDirectories("/etc/netns", prefix + "-*"))
            {
                Directory.Delete(etc, recursive: true);
            }
        }

        Directory.Delete(directory, recursive: true);
    }

    /// <summary>"PID STARTTIME" (start time in clock ticks since boot, field 22 of /proc/PID/stat).</summary>
    private static string? Identity(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return $"{pid} {fields[19]}";
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static bool IsRunning(string identity)
    {
        var pid = int.Parse(identity.Split(' ')[0], CultureInfo.InvariantCulture);
        return Identity(pid) == identity && PodProcess.IsAlive(pid);
    }
}
