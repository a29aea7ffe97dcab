using Doppel.Interception.Launching;

namespace Doppel.Interception;

/// <summary>
/// The hidden launcher mode of the <c>doppel</c> executable. <c>Main</c> checks it before
/// anything else: the launcher must not start hosts, loggers or threads that open files.
/// </summary>
public static class LauncherMode
{
    /// <summary>True when this process was started by the supervisor as a launcher.</summary>
    public static bool IsLauncherInvocation(string[] args)
        => args is { Length: > 0 } && args[0] == LauncherArguments.Marker;

    /// <summary>Installs the filter, hands the listener over and execs the program; returns only on failure.</summary>
    public static int Run(string[] args) => Launcher.Run(args);
}
