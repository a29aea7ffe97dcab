namespace Doppel.Agent.Targets;

/// <summary>
/// What the agent serves: a process (with its container id when found by one), or nothing
/// (targetless), in which case outgoing traffic and DNS leave from <see cref="NetworkNamespacePath"/>
/// (the agent's own namespace when null).
/// </summary>
internal sealed record Target(int Pid, string ContainerId)
{
    /// <summary>Targetless: the <c>ip netns</c> name whose <c>/etc/netns/NAME/*</c> files apply; null for none.</summary>
    public string? NetworkNamespaceName { get; init; }

    /// <summary>Targetless: the namespace file given with --netns; null for the agent's own.</summary>
    public string? TargetlessNamespacePath { get; init; }

    /// <summary>
    /// The ports the kubelet's HTTP probes check (<c>--http-probe-ports</c>): on these, a whole-port
    /// steal reads the start of each new connection and leaves <c>User-Agent: kube-probe/…</c>
    /// requests to the app (Incoming.KubeProbeHead). Empty: no port is probed.
    /// </summary>
    public IReadOnlySet<int> HttpProbePorts { get; init; } = new HashSet<int>();

    public bool IsTargetless => Pid == 0;

    /// <summary>The target's file system root as the agent sees it.</summary>
    public string RootPath => $"/proc/{Pid}/root";

    /// <summary>The network namespace sockets are created in; null means the agent's own.</summary>
    public string? NetworkNamespacePath => IsTargetless ? TargetlessNamespacePath : $"/proc/{Pid}/ns/net";

    /// <summary>A targetless agent, in the namespace <paramref name="netns"/> (a name under /run/netns or a path) or its own.</summary>
    public static Target Targetless(string? netns)
    {
        if (netns is null)
        {
            return new Target(0, string.Empty);
        }

        const string RunNetns = "/run/netns/";
        var path = netns.StartsWith('/') ? netns : RunNetns + netns;
        var name = path.StartsWith(RunNetns, StringComparison.Ordinal) ? path[RunNetns.Length..] : null;
        return new Target(0, string.Empty) { TargetlessNamespacePath = path, NetworkNamespaceName = name };
    }
}
