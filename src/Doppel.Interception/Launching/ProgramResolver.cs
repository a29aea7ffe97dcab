using Doppel.Linux.Processes;

namespace Doppel.Interception.Launching;

/// <summary>Finds the program to exec the way a POSIX shell does, with the shell's messages and exit codes.</summary>
public static class ProgramResolver
{
    public const int NotFoundExitCode = 127;
    public const int NotExecutableExitCode = 126;
    private const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>
    /// Returns the path to exec (relative to the working directory when <paramref name="program"/>
    /// or a PATH entry is), or an error message and the exit code to use.
    /// </summary>
    public static (string? Path, string? Error, int ExitCode) Resolve(string program, string? pathVariable)
    {
        if (program.Length == 0)
        {
            return (null, "doppel: : command not found", NotFoundExitCode);
        }

        if (program.Contains('/'))
        {
            return Check(program, program);
        }

        string? firstNonExecutable = null;
        foreach (var directory in (pathVariable ?? DefaultPath).Split(':'))
        {
            var candidate = Path.Combine(directory.Length == 0 ? "." : directory, program);
            if (!File.Exists(candidate))
            {
                continue;
            }

            if (FileCalls.CanExecute(candidate))
            {
                return (candidate, null, 0);
            }

            firstNonExecutable ??= candidate;
        }

        return firstNonExecutable is not null
            ? (null, $"doppel: {program}: Permission denied", NotExecutableExitCode)
            : (null, $"doppel: {program}: command not found", NotFoundExitCode);
    }

    private static (string? Path, string? Error, int ExitCode) Check(string path, string shown)
    {
        if (Directory.Exists(path))
        {
            return (null, $"doppel: {shown}: Is a directory", NotExecutableExitCode);
        }

        if (!File.Exists(path))
        {
            return (null, $"doppel: {shown}: No such file or directory", NotFoundExitCode);
        }

        return FileCalls.CanExecute(path)
            ? (path, null, 0)
            : (null, $"doppel: {shown}: Permission denied", NotExecutableExitCode);
    }
}
