using System.Globalization;

namespace Doppel.Interception.Files;

/// <summary>
/// The virtual working directory of each process that changed into a pod-only directory. The
/// kernel cannot be made to chdir a tracee into a directory that does not exist on this machine,
/// so the supervisor keeps that directory itself: it answers <c>getcwd</c> with it and resolves
/// relative paths of trapped calls against it (<see cref="FileHandler"/>).
/// <code>
///   chdir("/pod/only") ─► entry[tgid] = "/pod/only"      getcwd ─► "/pod/only"
///   chdir("/tmp")      ─► entry[tgid] = kernel's (null)  (the kernel's chdir runs)
///   first call of a child ─► no entry ─► the nearest ancestor's (PPid chain), copied
/// </code>
/// Entries are per process (thread group): threads share a working directory. Each entry holds
/// the process's start time (<c>/proc/PID/stat</c> field 22) so a reused PID does not inherit a
/// dead process's directory. A child learns its parent's directory at its own first lookup, not at
/// fork: a parent that changes directory between the fork and the child's first trapped call
/// hands the child its new one, and a child whose parent has exited meanwhile finds the nearest
/// ancestor still running. While no process has an entry, <see cref="Of"/> costs nothing.
/// </summary>
internal sealed class WorkingDirectories
{
    private const int MaxAncestors = 32;

    private readonly Dictionary<int, (string? Directory, long StartTime)> _entries = [];
    private readonly Lock _lock = new();
    private volatile bool _any;

    /// <summary>
    /// The virtual working directory of the process of thread <paramref name="threadId"/> (an
    /// absolute path as the program sees it), or null when the kernel's own working directory
    /// applies (no process ever left it, or this one came back to a local directory).
    /// </summary>
    public string? Of(int threadId)
    {
        if (!_any)
        {
            return null;
        }

        if (Status(threadId) is not { } self)
        {
            return null;
        }

        lock (_lock)
        {
            if (Valid(self.Tgid) is { } own)
            {
                return own.Directory;
            }

            // A process not seen yet: its working directory is its parent's, found up the chain.
            string? inherited = null;
            var ancestor = self.ParentId;
            for (var depth = 0; depth < MaxAncestors && ancestor > 1; depth++)
            {
                if (Valid(ancestor) is { } found)
                {
                    inherited = found.Directory;
                    break;
                }

                if (Status(ancestor) is not { } next)
                {
                    break;
                }

                ancestor = next.ParentId;
            }

            if (StartTime(self.Tgid) is { } start)
            {
                _entries[self.Tgid] = (inherited, start);
            }

            return inherited;
        }
    }

    /// <summary>
    /// Sets the working directory of the process of thread <paramref name="threadId"/>: a virtual
    /// one (an absolute path as the program sees it), or null for the kernel's own. Does nothing
    /// when the process is gone.
    /// </summary>
    public void Set(int threadId, string? directory)
    {
        if (Status(threadId) is not { } self || StartTime(self.Tgid) is not { } start)
        {
            return;
        }

        lock (_lock)
        {
            _entries[self.Tgid] = (directory, start);
            _any |= directory is not null;
        }
    }

    /// <summary>An entry of <paramref name="tgid"/> that still belongs to the process running under that id.</summary>
    private (string? Directory, long StartTime)? Valid(int tgid)
    {
        if (!_entries.TryGetValue(tgid, out var entry))
        {
            return null;
        }

        if (StartTime(tgid) == entry.StartTime)
        {
            return entry;
        }

        _entries.Remove(tgid);
        return null;
    }

    /// <summary>Tgid and PPid of a thread from <c>/proc/TID/status</c>; null when it is gone.</summary>
    private static (int Tgid, int ParentId)? Status(int threadId)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{threadId}/status");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        int? tgid = null, parent = null;
        foreach (var line in text.AsSpan().EnumerateLines())
        {
            if (line.StartsWith("Tgid:"))
            {
                tgid = int.Parse(line[5..].Trim(), CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("PPid:"))
            {
                parent = int.Parse(line[5..].Trim(), CultureInfo.InvariantCulture);
                break; // PPid follows Tgid (proc(5))
            }
        }

        return tgid is { } t && parent is { } p ? (t, p) : null;
    }

    /// <summary>Field 22 of <c>/proc/PID/stat</c> (starttime, clock ticks after boot); null when the process is gone.</summary>
    private static long? StartTime(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // comm may hold spaces and parentheses: fields start after the last ')' with field 3 (state).
        var end = stat.LastIndexOf(')');
        if (end < 0)
        {
            return null;
        }

        var fields = stat[(end + 2)..].Split(' ');
        return fields.Length > 19 && long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var start) ? start : null;
    }
}
