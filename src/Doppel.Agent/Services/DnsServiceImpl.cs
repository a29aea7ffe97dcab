using Doppel.Agent.Resolution;
using Doppel.Protocol.V1;
using Grpc.Core;

namespace Doppel.Agent.Services;

/// <summary>DnsService.Lookup through the target's resolv.conf, hosts and network namespace (<see cref="DnsResolver"/>).</summary>
internal sealed class DnsServiceImpl(DnsResolver resolver) : DnsService.DnsServiceBase
{
    public override Task<DnsLookupResponse> Lookup(DnsLookupRequest request, ServerCallContext context) =>
        resolver.LookupAsync(request.Name, request.Family, context.CancellationToken);
}
