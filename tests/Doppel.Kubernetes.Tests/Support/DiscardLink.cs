using System.Net;

namespace Doppel.Kubernetes.Tests.Support;

/// <summary>
/// A <c>dummy</c> link on the host that this test creates and removes, holding the last address
/// of a /24 (e.g. 198.51.100.254/24): the host then routes the whole /24 to it, and a dummy link
/// discards everything sent through it. A test that must show a packet is stopped on its way out
/// sends it to <see cref="Destination"/>: when the guard works the packet never reaches the link,
/// and when it does not the packet still goes nowhere, never off this machine.
/// </summary>
public sealed class DiscardLink : IAsyncDisposable
{
    private DiscardLink(string name, IPAddress destination)
    {
        Name = name;
        Destination = destination;
    }

    /// <summary>The link's name (dkdisc + 6 random hex digits; at most 15 characters).</summary>
    public string Name { get; }

    /// <summary>The .1 address of the /24: routed to the link, owned by nothing.</summary>
    public IPAddress Destination { get; }

    /// <summary>
    /// Creates the link with PREFIX.254/24 (PREFIX like "198.51.100") and brings it up; removes it
    /// again when that fails half-way.
    /// </summary>
    public static async Task<DiscardLink> CreateAsync(string prefix, CancellationToken cancellationToken)
    {
        var link = new DiscardLink($"dkdisc{Guid.NewGuid().ToString("N")[..6]}", IPAddress.Parse(prefix + ".1"));
        await Run.CheckedAsync(["ip", "link", "add", link.Name, "type", "dummy"], cancellationToken);
        try
        {
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

    /// <summary>Deletes the link (and with it its address and route).</summary>
    public async ValueTask DisposeAsync()
        => await Run.CheckedAsync(["ip", "link", "delete", Name], CancellationToken.None);
}
