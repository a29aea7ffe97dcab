namespace Doppel.Linux.Launch;

/// <summary>Where <see cref="SeccompLaunch.InstallAndExec"/> stopped, when it returns at all.</summary>
public enum LaunchStage
{
    NoNewPrivs,
    InstallFilter,
    HandOver,
    Exec,
}
