using System.Globalization;
using Doppel.Linux.Native;

namespace Doppel.Linux.Processes;

/// <summary>A process and its descendants, found through the parent ids in <c>/proc/*/stat</c>.</summary>
public static class ProcessTree
{
    private const int SigKill = 9;
    private const int SigStop = 19;

    /// <summary>
    /// The processes whose parent chain leads to <paramref name="root"/> (root not included), as
    /// they are now. A descendant whose parent has already exited was re-parented (to init or a
    /// subreaper) and is not found.
    /// </summary>
    public static IReadOnlyList<int> Descendants(int root)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                || ProcessStatus.TryRead(pid) is not { } status)
            {
                continue;
            }

            if (!children.TryGetValue(status.ParentId, out var list))
            {
                children[status.ParentId] = list = [];
            }

            list.Add(pid);
        }

        var found = new List<int>();
        var pending = new Queue<int>([root]);
        while (pending.TryDequeue(out var parent))
        {
            foreach (var child in children.GetValueOrDefault(parent) ?? [])
            {
                found.Add(child);
                pending.Enqueue(child);
            }
        }

        return found;
    }

    /// <summary>
    /// Kills <paramref name="root"/> and all its descendants with SIGKILL. They are stopped
    /// (SIGSTOP) first, round after round until no new one appears, so none can fork a child that
    /// escapes by being re-parented once its parent dies. Returns how many processes were killed.
    /// </summary>
    public static int Kill(int root)
    {
        var stopped = new List<int>();
        var seen = new HashSet<int>();
        for (var round = 0; round < 5; round++)
        {
            var fresh = (IEnumerable<int>)[root, .. Descendants(root)];
            var added = false;
            foreach (var pid in fresh.Where(seen.Add))
            {
                added = true;
                if (Signal(pid, SigStop) == 0)
                {
                    stopped.Add(pid);
                }
            }

            if (!added)
            {
                break;
            }
        }

        return stopped.Count(pid => Signal(pid, SigKill) == 0);
    }

    /// <summary>kill(2): sends <paramref name="signal"/> to <paramref name="pid"/>; returns 0 or the errno.</summary>
    public static int Signal(int pid, int signal)
    {
        var r = LibC.Syscall(SyscallNumber.Kill, pid, signal);
        return r < 0 ? (int)-r : 0;
    }
}
