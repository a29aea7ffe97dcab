using System.Net;

namespace Doppel.Kubernetes.Tests.Support;

/// <summary>
/// A place for packets to go nowhere: a network namespace this test creates, and a veth pair whose
/// host end holds the last address of a /24 (e.g. 198.51.100.254/24) and whose other end, with no
/// address, sits in that namespace. The host routes the whole /24 to the pair; a packet sent there
/// can only reach the test's own namespace, which answers nothing and drops it. A test that must
/// show a packet is stopped on its way out sends it to <see cref="Destination"/>: when the guard
/// works the packet never reaches the link, and when it does not the packet still stays on this
/// machine. (A <c>dummy</c> link would do, but the test machines' kernels may lack the module.)
/// </summary>
public sealed class DiscardLink : IAsyncDisposable
{
    private readonly string _namespace;

    private DiscardLink(string id, IPAddress destination)
    {
        Name = "dkd" + id;
        _namespace = "dkdisc" + id;
        Destination = destination;
    }

    /// <summary>The host end's name (dkd + 6 random hex digits).</summary>
    public string Name { get; }

    /// <summary>The .1 address of the /24: routed to the link, owned by nothing.</summary>
    public IPAddress Destination { get; }

    /// <summary>
    /// Creates the namespace and the pair, PREFIX.254/24 (PREFIX like "198.51.100") on the host end,
    /// both ends up; removes what it made when that fails half-way.
    /// </summary>
    public static async Task<DiscardLink> CreateAsync(string prefix, CancellationToken cancellationToken)
    {
        var link = new DiscardLink(Guid.NewGuid().ToString("N")[..6], IPAddress.Parse(prefix + ".1"));
        await Run.CheckedAsync(["ip", "netns", "add", link._namespace], cancellationToken);
        try
        {
            await Run.CheckedAsync(["ip", "link", "add", link.Name, "type", "veth", "peer", "name", "eth0", "netns", link._namespace], cancellationToken);
            await Run.CheckedAsync(["ip", "-n", link._namespace, "link", "set", "eth0", "up"], cancellationToken);
            await Run.CheckedAsync(["ip", "address", "add", prefix + ".254/24", "dev", link.Name], cancellationToken);
            await Run.CheckedAsync(["ip", "link", "set", link.Name, "up"], cancellationToken);
            var route = await Run.CheckedAsync(["ip", "route", "get", link.Destination.ToString()], cancellationToken);
            return route.Contains("dev " + link.Name, StringComparison.Ordinal)
                ? link
                : throw new InvalidOperationException($"{link.Destination} is not routed to {link.Name}: {route.Trim()}");
        }
        catch
        {
            await link.DisposeAsync();
            throw;
        }
    }

    /// <summary>Deletes the namespace, which takes the pair (and the host end's address and route) with it.</summary>
    public async ValueTask DisposeAsync()
    {
        await Run.CheckedAsync(["ip", "netns", "delete", _namespace], CancellationToken.None);

        // The host end goes with its peer, a moment later; do not wait for it, but make sure.
        await Run.CheckedAsync(["sh", "-c", $"ip link delete {Name} 2>/dev/null || true"], CancellationToken.None);
    }
}
