using System.Net;
using System.Net.Sockets;
using Doppel.Protocol.V1;

namespace Doppel.Agent.Resolution;

/// <summary>
/// getaddrinfo through the target's resolver, as glibc does it with "hosts: files dns":
/// <code>
///   name ─► literal address? ─► /etc/hosts ─► candidates (search list, ndots) ─► A / AAAA per candidate
/// </code>
/// A name with at least <c>ndots</c> dots is tried as given first, then with each search domain;
/// a shorter one the other way round; a trailing dot means as given only. NXDOMAIN moves on to the
/// next candidate, so does NODATA and SERVFAIL (remembered for the final status), an answer with
/// addresses ends the search, and a timeout ends it with TEMPORARY_FAILURE (res_search's rules).
/// With no family both questions go out at once; the A answers come first.
/// </summary>
internal sealed class DnsResolver(ResolverFiles files, DnsTransport transport)
{
    /// <summary>Resolves <paramref name="name"/> for <paramref name="family"/>.</summary>
    public async Task<DnsLookupResponse> LookupAsync(string name, IpFamily family, CancellationToken cancellationToken)
    {
        var ipv4 = family != IpFamily.V6;
        var ipv6 = family != IpFamily.V4;
        if (name.Length == 0)
        {
            return Status(DnsLookupStatus.NotFound, "An empty name has no address.");
        }

        if (IPAddress.TryParse(name, out var literal))
        {
            var wanted = literal.AddressFamily == AddressFamily.InterNetwork ? ipv4 : ipv6;
            return wanted
                ? Found([literal], string.Empty)
                : Status(DnsLookupStatus.NoData, $"{name} is an address of the other family.");
        }

        var hosts = HostsFile.Lookup(await files.ReadAsync("/etc/hosts", cancellationToken).ConfigureAwait(false), name.TrimEnd('.'), ipv4, ipv6);
        if (hosts.Addresses.Count > 0)
        {
            return Found(hosts.Addresses, hosts.CanonicalName);
        }

        var config = ResolverConfig.Parse(await files.ReadAsync("/etc/resolv.conf", cancellationToken).ConfigureAwait(false));
        var gotNoData = false;
        var gotServerFailure = false;
        foreach (var candidate in Candidates(name, config))
        {
            var outcome = await AskAsync(config, candidate, ipv4, ipv6, cancellationToken).ConfigureAwait(false);
            switch (outcome.Status)
            {
                case DnsLookupStatus.Ok:
                case DnsLookupStatus.TemporaryFailure when !outcome.ServerFailure:
                    return outcome.Response;
                case DnsLookupStatus.NoData:
                    gotNoData = true;
                    break;
                case DnsLookupStatus.TemporaryFailure:
                    gotServerFailure = true;
                    break;
            }
        }

        return gotNoData ? Status(DnsLookupStatus.NoData, $"{name} has no {FamilyName(family)} address.")
            : gotServerFailure ? Status(DnsLookupStatus.TemporaryFailure, $"The nameservers failed to answer for {name} (SERVFAIL).")
            : Status(DnsLookupStatus.NotFound, $"{name} does not exist (NXDOMAIN).");
    }

    /// <summary>The names res_search tries, in order.</summary>
    internal static IEnumerable<string> Candidates(string name, ResolverConfig config)
    {
        if (name.EndsWith('.'))
        {
            yield return name.TrimEnd('.');
            yield break;
        }

        var asGivenFirst = name.Count(c => c == '.') >= config.Ndots;
        if (asGivenFirst)
        {
            yield return name;
        }

        foreach (var domain in config.Search)
        {
            yield return name + "." + domain.TrimEnd('.');
        }

        if (!asGivenFirst)
        {
            yield return name;
        }
    }

    private async Task<(DnsLookupStatus Status, bool ServerFailure, DnsLookupResponse Response)> AskAsync(
        ResolverConfig config, string candidate, bool ipv4, bool ipv6, CancellationToken cancellationToken)
    {
        var a = ipv4 ? transport.AskAsync(config, candidate, DnsMessage.TypeA, cancellationToken) : null;
        var aaaa = ipv6 ? transport.AskAsync(config, candidate, DnsMessage.TypeAaaa, cancellationToken) : null;
        DnsAnswer?[] answers = [a is null ? null : await a.ConfigureAwait(false), aaaa is null ? null : await aaaa.ConfigureAwait(false)];
        var asked = answers.Where((_, i) => i == 0 ? ipv4 : ipv6).ToList();

        var addresses = asked.Where(x => x is not null).SelectMany(x => x!.Addresses).ToList();
        if (addresses.Count > 0)
        {
            var canonical = asked.First(x => x is { Addresses.Count: > 0 })!.CanonicalName;
            return (DnsLookupStatus.Ok, false, Found(addresses, canonical));
        }

        if (asked.Any(x => x is null))
        {
            return (DnsLookupStatus.TemporaryFailure, false,
                Status(DnsLookupStatus.TemporaryFailure, $"No nameserver of {string.Join(", ", config.Nameservers)} answered for {candidate} in time."));
        }

        if (asked.Any(x => x!.ResponseCode == DnsAnswer.NoError))
        {
            return (DnsLookupStatus.NoData, false, Status(DnsLookupStatus.NoData, string.Empty));
        }

        return asked.All(x => x!.ResponseCode == DnsAnswer.NameError)
            ? (DnsLookupStatus.NotFound, false, Status(DnsLookupStatus.NotFound, string.Empty))
            : (DnsLookupStatus.TemporaryFailure, true, Status(DnsLookupStatus.TemporaryFailure, string.Empty));
    }

    private static DnsLookupResponse Found(IEnumerable<IPAddress> addresses, string canonical)
    {
        var response = new DnsLookupResponse { Status = DnsLookupStatus.Ok, CanonicalName = canonical };
        response.Addresses.AddRange(addresses.Select(SockAddr.EncodeIp));
        return response;
    }

    private static DnsLookupResponse Status(DnsLookupStatus status, string message) => new() { Status = status, Message = message };

    private static string FamilyName(IpFamily family) => family switch
    {
        IpFamily.V4 => "IPv4",
        IpFamily.V6 => "IPv6",
        _ => "IP",
    };
}
