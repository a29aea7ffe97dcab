using System.Globalization;

namespace Doppel.Linux.Processes;

/// <summary>
/// The job-control fields of <c>/proc/PID/stat</c> (proc(5)): who a process's parent is, which
/// process group and session it belongs to, and its controlling terminal with that terminal's
/// foreground group.
/// </summary>
/// <param name="ParentId">Field 4, ppid.</param>
/// <param name="ProcessGroup">Field 5, pgrp.</param>
/// <param name="Session">Field 6, session id.</param>
/// <param name="Terminal">Field 7, tty_nr: the controlling terminal's device number, 0 when there is none.</param>
/// <param name="ForegroundGroup">Field 8, tpgid: the foreground process group of that terminal, -1 when there is none.</param>
public readonly record struct ProcessStatus(int ProcessId, int ParentId, int ProcessGroup, int Session, int Terminal, int ForegroundGroup)
{
    /// <summary>True when the process has a controlling terminal and its group is that terminal's foreground group.</summary>
    public bool IsInTerminalForeground => Terminal != 0 && ForegroundGroup == ProcessGroup;

    /// <summary>The status of <paramref name="pid"/>; null when the process is gone (or never existed).</summary>
    public static ProcessStatus? TryRead(int pid)
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

        return Parse(pid, stat);
    }

    /// <summary>Parses a <c>/proc/PID/stat</c> line: "pid (comm) state ppid pgrp session tty_nr tpgid ...".</summary>
    public static ProcessStatus? Parse(int pid, string stat)
    {
        ArgumentNullException.ThrowIfNull(stat);

        // comm may hold spaces and parentheses: the fields start after the last ')'.
        var end = stat.LastIndexOf(')');
        if (end < 0 || end + 2 > stat.Length)
        {
            return null;
        }

        var fields = stat[(end + 2)..].Split(' ');
        if (fields.Length < 6)
        {
            return null;
        }

        int Field(int i) => int.Parse(fields[i], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        return new ProcessStatus(pid, Field(1), Field(2), Field(3), Field(4), Field(5));
    }
}
