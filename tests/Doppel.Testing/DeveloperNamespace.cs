using Doppel.Testing.Internal;

namespace Doppel.Testing;

/// <summary>
/// The developer's machine: a network namespace with loopback only and no route to the pod
/// network, so only what doppel carries can reach a pod. No /etc/netns files: the developer
/// sees the host's resolv.conf (whose nameserver is unreachable from here).
/// </summary>
public sealed class DeveloperNamespace
{
    internal DeveloperNamespace(string name) => Name = name;

    /// <summary>The netns name (<c>ip netns exec NAME</c>).</summary>
    public string Name { get; }

    public string Path => $"/run/netns/{Name}";

    /// <summary>The argv that runs <paramref name="command"/> in this namespace: <c>ip netns exec NAME ...</c>.</summary>
    public IReadOnlyList<string> Wrap(params IEnumerable<string> command) => ["ip", "netns", "exec", Name, .. command];

    /// <summary>Runs a host program here to completion, with this process's environment unless <paramref name="environment"/> is given.</summary>
    public Task<ExecResult> ExecAsync(IReadOnlyList<string> command, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? environment = null)
        => Commands.RunAsync(Wrap(command), environment, cancellationToken);
}
