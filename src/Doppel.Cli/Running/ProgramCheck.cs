using Doppel.Config;
using Doppel.Interception.Launching;
using Doppel.Session.Env;

namespace Doppel.Cli.Running;

/// <summary>
/// <c>doppel exec</c> with a target: a program that certainly cannot start is said before any
/// agent work (a local agent, a Job in a cluster), with the same line and exit code the launcher
/// would give after it (the shell's: <c>doppel: NAME: command not found</c> 127,
/// <c>No such file or directory</c> 127, <c>Permission denied</c>/<c>Is a directory</c> 126).
/// <para>
/// The launcher looks the program up on this machine, from the local working directory, with
/// the program's PATH (<see cref="ProgramResolver"/>). That PATH is known before the session
/// starts: the target's PATH is never imported (<c>EnvironmentRules.NeverImported</c>), so it is
/// doppel's own after <c>env_file</c>, <c>override</c> and <c>unset</c>. The check asks the same
/// resolver, so it refuses nothing the launcher would run. With a working directory in the pod
/// (<c>-C</c> naming a directory that is not on this machine) it refuses only what no working
/// directory could change: a name without a slash when PATH has only absolute directories, and
/// an absolute path; a relative path (<c>./tool</c>) or a relative PATH entry goes on to the launcher.
/// </para>
/// </summary>
internal static class ProgramCheck
{
    /// <summary>The launcher's line and exit code for <paramref name="program"/> when it certainly cannot start; null when it may.</summary>
    /// <param name="envFile">The variables of <c>env_file</c>, already read.</param>
    /// <param name="workingDirectory">The local directory the launcher will run in.</param>
    /// <param name="podWorkingDirectory">True when the program starts in a directory of the pod (<c>-C</c>).</param>
    public static (string Line, int ExitCode)? Refusal(
        DoppelConfig config, string program, IReadOnlyList<KeyValuePair<string, string>> envFile, string workingDirectory, bool podWorkingDirectory)
    {
        ArgumentNullException.ThrowIfNull(config);
        var path = SessionEnvironment.Build(config.Feature.Env, new Dictionary<string, string>(), TargetRun.LocalEnvironment(), envFile).GetValueOrDefault("PATH");
        if (podWorkingDirectory && (program.Contains('/') ? !Path.IsPathRooted(program) : ProgramResolver.SearchPath(path).Any(d => !Path.IsPathRooted(d))))
        {
            return null;
        }

        var (found, line, exitCode) = ProgramResolver.Resolve(program, path, workingDirectory);
        return found is null && line is not null ? (line, exitCode) : null;
    }
}
