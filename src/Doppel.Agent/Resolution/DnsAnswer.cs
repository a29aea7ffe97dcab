using System.Net;

namespace Doppel.Agent.Resolution;

/// <summary>
/// A parsed DNS response: its RCODE (0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, ...), whether it was
/// truncated (TC, retry over TCP), the addresses of the asked type at the end of the CNAME chain,
/// and that end (the canonical name).
/// </summary>
internal sealed record DnsAnswer(int ResponseCode, bool Truncated, IReadOnlyList<IPAddress> Addresses, string CanonicalName)
{
    public const int NoError = 0;
    public const int ServerFailure = 2;
    public const int NameError = 3;
}
