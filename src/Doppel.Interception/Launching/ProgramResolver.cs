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
    /// or a PATH entry is), or an error message and the exit code to use. Relative paths are looked
    /// up from <paramref name="workingDirectory"/> (null: this process's current directory, as in
    /// the launcher, which runs in the program's).
    /// </summary>
    public static (string? Path, string? Error, int ExitCode) Resolve(string program, string? pathVariable, string? workingDirectory = null)
    {
        if (program.Length == 0)
        {
            return (null, "doppel: : command not found", NotFoundExitCode);
        }

        if (program.Contains('/'))
        {
            return Check(program, program, workingDirectory);
        }

        string? firstNonExecutable = null;
        foreach (var directory in SearchPath(pathVariable))
        {
            var candidate = Path.Combine(directory.Length == 0 ? "." : directory, program);
            if (!File.Exists(Local(candidate, workingDirectory)))
            {
                continue;
            }

            if (FileCalls.CanExecute(Local(candidate, workingDirectory)))
            {
                return (candidate, null, 0);
            }

            firstNonExecutable ??= candidate;
        }

        return firstNonExecutable is not null
            ? (null, $"doppel: {program}: Permission denied", NotExecutableExitCode)
            : (null, $"doppel: {program}: command not found", NotFoundExitCode);
    }

    /// <summary>The directories PATH names, in order (an empty entry is the working directory); the shell's default when PATH is not set.</summary>
    public static string[] SearchPath(string? pathVariable) => (pathVariable ?? DefaultPath).Split(':');

    private static string Local(string path, string? workingDirectory) => workingDirectory is null ? path : Path.GetFullPath(path, workingDirectory);

    private static (string? Path, string? Error, int ExitCode) Check(string path, string shown, string? workingDirectory)
    {
        var local = Local(path, workingDirectory);
        if (Directory.Exists(local))
        {
            return (null, $"doppel: {shown}: Is a directory", NotExecutableExitCode);
        }

        if (!File.Exists(local))
        {
            return (null, $"doppel: {shown}: No such file or directory", NotFoundExitCode);
        }

        return FileCalls.CanExecute(local)
            ? (path, null, 0)
            : (null, $"doppel: {shown}: Permission denied", NotExecutableExitCode);
    }
}
