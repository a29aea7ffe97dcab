using Doppel.Agent.Resolution;
using Doppel.Protocol.V1;
using Doppel.Agent.Logging;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Doppel.Agent.Services;

/// <summary>DnsService.Lookup through the target's resolv.conf, hosts and network namespace (<see cref="DnsResolver"/>).</summary>
internal sealed class DnsServiceImpl(DnsResolver resolver, ILogger<DnsServiceImpl> logger) : DnsService.DnsServiceBase
{
    public override Task<DnsLookupResponse> Lookup(DnsLookupRequest request, ServerCallContext context)
    {
        AgentLog.DnsLookup(logger, request.Name);
        return resolver.LookupAsync(request.Name, request.Family, context.CancellationToken);
    }
}
