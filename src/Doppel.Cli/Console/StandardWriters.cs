using Doppel.Linux.Processes;

namespace Doppel.Cli;

/// <summary>
/// Puts writers of doppel's own onto stdout and stderr (<see cref="Console.SetOut"/>,
/// <see cref="Console.SetError"/>) before anything writes: .NET's console, on its first write,
/// switches a terminal to application cursor keys (<c>\e[?1h\e=</c>, terminfo's keypad_xmit) and
/// never switches it back, so the shell after doppel, and the program doppel runs, would get
/// <c>\eOA</c> for the up arrow instead of <c>\e[A</c>. Everything that writes through
/// <see cref="Console"/> (our console, Spectre, the loggers) goes through these instead.
/// </summary>
internal static class StandardWriters
{
    /// <summary>Replaces <see cref="Console.Out"/> and <see cref="Console.Error"/>; call before the first write.</summary>
    public static void Install()
    {
        System.Console.SetOut(Create(1));
        System.Console.SetError(Create(2));
    }

    // As .NET's console writers: the console's encoding (no byte-order mark), flushed after every write.
    private static StreamWriter Create(int fd) => new(new StandardOutputStream(fd), System.Console.OutputEncoding, bufferSize: 256, leaveOpen: false) { AutoFlush = true };
}
