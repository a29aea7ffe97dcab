using Doppel.Config;

namespace Doppel.Session.Policy;

/// <summary>
/// Which DNS queries are answered by the developer's resolver (local) instead of the target's
/// (remote), by the name asked: <c>feature.network.dns.filter</c>, with the host names of
/// <c>feature.network.outgoing.filter</c> added on their side so a name is resolved where its
/// connections go. As mirrord's <c>reflect_outgoing_filter_in_dns</c> (config/src/lib.rs):
/// <code>
///  outgoing \ dns.filter   unset              local(L)                 remote(R)
///  local(N)                local(N)           local(L + N)             remote(R); warn on N ∩ R
///  remote(N)               unset (all remote) local(L); warn on N ∩ L  remote(R + N)
/// </code>
/// A DNS message carries no port and the resolver adds the search domains
/// (<c>db</c> is asked as <c>db.default.svc.cluster.local</c> first), so an entry matches a
/// query for its name, or for its name followed by more labels, whatever its port; entries
/// without a name (a port, an address, a network) match no query.
/// </summary>
public sealed class DnsSteering
{
    private readonly AddressFilter[] _entries;
    private readonly bool _listIsLocal;

    private DnsSteering(AddressFilter[] entries, bool listIsLocal, IReadOnlyList<string> warnings)
    {
        _entries = entries;
        _listIsLocal = listIsLocal;
        Warnings = warnings;
    }

    /// <summary>False when every query goes to the target (no filter, or remote DNS off: then none is trapped).</summary>
    public bool IsFiltered => _entries.Length > 0 || !_listIsLocal;

    /// <summary>Where the outgoing and DNS filters contradict each other: one sentence per conflict.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>The effective DNS filter of <paramref name="config"/>.</summary>
    public static DnsSteering From(DoppelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var network = config.Feature.Network;
        var dns = network.Dns.Filter;
        var outgoing = network.Outgoing.Filter;
        if (!network.Dns.Enabled)
        {
            return new([], listIsLocal: true, []);
        }

        var dnsEntries = dns?.Parsed ?? [];
        var dnsIsLocal = dns is null || dns.Remote is null;
        var outgoingNames = outgoing?.Parsed.Where(f => f.Name is not null).ToArray() ?? [];
        if (outgoing is null || outgoingNames.Length == 0)
        {
            return new(dnsEntries.ToArray(), dnsIsLocal, []);
        }

        var outgoingIsLocal = outgoing.Remote is null;
        if (dns is null)
        {
            // An outgoing remote list leaves DNS all remote, as it was.
            return outgoingIsLocal ? new(outgoingNames, listIsLocal: true, []) : new([], listIsLocal: true, []);
        }

        if (outgoingIsLocal == dnsIsLocal)
        {
            var merged = dnsEntries.Concat(outgoingNames.Where(n => !dnsEntries.Any(d => SameName(d, n)))).ToArray();
            return new(merged, dnsIsLocal, []);
        }

        var conflicting = outgoingNames.Where(n => dnsEntries.Any(d => SameName(d, n))).Select(n => n.Name!).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
        IReadOnlyList<string> warnings = conflicting.Length == 0
            ? []
            : [$"feature.network.outgoing.filter sends {string.Join(", ", conflicting)} through the {Side(outgoingIsLocal)} side, but feature.network.dns.filter resolves "
                + $"{(conflicting.Length == 1 ? "it" : "them")} {(dnsIsLocal ? "locally" : "remotely")}: the address the program gets may mean nothing where it connects; list {(conflicting.Length == 1 ? "it" : "them")} on the same side in both filters."];
        return new(dnsEntries.ToArray(), dnsIsLocal, warnings);
    }

    /// <summary>Whether a query for <paramref name="queryName"/> (null: unreadable) is answered by the local resolver.</summary>
    public bool ResolvesLocally(string? queryName)
    {
        var matched = queryName is { Length: > 0 } name && _entries.Any(e => Matches(e, name.TrimEnd('.')));
        return matched == _listIsLocal;
    }

    private static bool Matches(AddressFilter entry, string queryName)
    {
        if (entry.Name is not { } name)
        {
            return false;
        }

        name = name.TrimEnd('.');
        if (name.StartsWith("*.", StringComparison.Ordinal))
        {
            var suffix = name[1..]; // ".example.com"
            return queryName.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)
                || queryName.Contains(suffix + ".", StringComparison.OrdinalIgnoreCase);
        }

        return queryName.Equals(name, StringComparison.OrdinalIgnoreCase)
            || (queryName.Length > name.Length && queryName[name.Length] == '.' && queryName.StartsWith(name, StringComparison.OrdinalIgnoreCase));
    }

    private static bool SameName(AddressFilter a, AddressFilter b) =>
        a.Name is { } x && b.Name is { } y && x.Equals(y, StringComparison.OrdinalIgnoreCase);

    private static string Side(bool local) => local ? "local" : "remote";
}
