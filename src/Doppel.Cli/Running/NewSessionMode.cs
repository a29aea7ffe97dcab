using System.Diagnostics;
using Doppel.Linux.Processes;

namespace Doppel.Cli.Running;

/// <summary>
/// The hidden <c>doppel __doppel-setsid PATH ARGS...</c> mode: runs PATH in a new session
/// (setsid, then execve, so the pid stays). doppel starts its helpers (the local agent) through
/// it so that the terminal's Ctrl+C, which goes to the whole foreground process group, reaches
/// only doppel and the user's program, never a helper the session still needs.
/// <code>
///   doppel ──spawn──► doppel __doppel-setsid AGENT ... ──setsid, execve──► AGENT (same pid, own session)
/// </code>
/// </summary>
internal static class NewSessionMode
{
    public const string Marker = "__doppel-setsid";

    private const int ExitCannotExecute = 126;

    public static bool IsInvocation(string[] args) => args is { Length: > 1 } && args[0] == Marker;

    /// <summary>Becomes the program named in <paramref name="args"/>; returns only on failure.</summary>
    public static int Run(string[] args)
    {
        var errno = NewSession.Exec(args[1], args[1..]);
        Console.Error.WriteLine($"doppel: could not start {args[1]} in a new session (errno {errno}).");
        return ExitCannotExecute;
    }

    /// <summary>
    /// A start for <paramref name="executable"/> through this mode of the running doppel
    /// executable: <see cref="Process.Id"/> is the helper's own pid once it runs.
    /// </summary>
    public static ProcessStartInfo StartInfo(string executable, IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo(Environment.ProcessPath ?? "doppel") { UseShellExecute = false };
        info.ArgumentList.Add(Marker);
        info.ArgumentList.Add(executable);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return info;
    }
}
