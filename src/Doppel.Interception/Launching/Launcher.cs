using Doppel.Linux.Launch;
using Doppel.Linux.Native;
using Doppel.Linux.Processes;

namespace Doppel.Interception.Launching;

/// <summary>The launcher process: resolve the program, connect to the supervisor, then hand over to <see cref="SeccompLaunch"/>.</summary>
internal static class Launcher
{
    private const int InternalErrorExitCode = 125;

    public static int Run(string[] args)
    {
        var parsed = LauncherArguments.Parse(args);
        if (parsed is null)
        {
            Console.Error.WriteLine("doppel: the launcher mode is internal to doppel exec.");
            return InternalErrorExitCode;
        }

        // First of all: a doppel killed with SIGKILL cannot stop the program, so the kernel does.
        if (ParentDeath.KillMeWithParent(parsed.ParentPid) is not 0 and var death)
        {
            if (death == Errno.ESRCH)
            {
                return InternalErrorExitCode; // doppel died while this started: nobody to run the program for
            }

            Console.Error.WriteLine($"doppel: the launcher could not ask to die with doppel (prctl errno {death}).");
            return InternalErrorExitCode;
        }

        var (path, error, exitCode) = ProgramResolver.Resolve(parsed.Argv[0], Environment.GetEnvironmentVariable("PATH"));
        if (path is null)
        {
            Console.Error.WriteLine(error);
            return exitCode;
        }

        if (parsed.OpenFilesLimit is { } limit)
        {
            ResourceLimits.SetOpenFilesSoftLimit(limit); // the user's, which .NET raised in doppel and here
        }

        // The environment exactly as the supervisor gave it, order and bytes preserved.
        var environ = File.ReadAllBytes("/proc/self/environ");
        var control = SeccompLaunch.ConnectUnix(parsed.ControlSocket);
        if (control < 0)
        {
            Console.Error.WriteLine($"doppel: the launcher could not reach the supervisor (errno {-control}).");
            return InternalErrorExitCode;
        }

        var (stage, errno) = SeccompLaunch.InstallAndExec(control, parsed.Filter, path, parsed.Argv, environ, parsed.WaitKillableRecv);

        // Only reached on failure. After a failed execve the supervisor owns the listener, so
        // ordinary (trapped) calls are safe again.
        if (stage == LaunchStage.Exec)
        {
            var message = errno switch
            {
                Errno.ENOENT => "No such file or directory",
                Errno.EACCES => "Permission denied",
                Errno.ENOEXEC => "Exec format error",
                _ => $"cannot execute (errno {errno})",
            };
            Console.Error.WriteLine($"doppel: {parsed.Argv[0]}: {message}");
            return errno == Errno.ENOENT ? ProgramResolver.NotFoundExitCode : ProgramResolver.NotExecutableExitCode;
        }

        if (stage == LaunchStage.HandOver)
        {
            return InternalErrorExitCode; // the supervisor is gone: nobody to report to
        }

        Console.Error.WriteLine($"doppel: could not install the seccomp filter at {stage} (errno {errno}).");
        return InternalErrorExitCode;
    }
}
