namespace Doppel.Agent.Targets;

/// <summary>What the agent serves: a process (with its container id when found by one), or nothing (targetless).</summary>
internal sealed record Target(int Pid, string ContainerId)
{
    public static Target Targetless { get; } = new(0, string.Empty);

    public bool IsTargetless => Pid == 0;

    /// <summary>The target's file system root as the agent sees it.</summary>
    public string RootPath => $"/proc/{Pid}/root";
}
