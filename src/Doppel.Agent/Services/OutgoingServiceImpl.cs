using Doppel.Agent.Network;
using Doppel.Agent.Outgoing;
using Doppel.Protocol.V1;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Doppel.Agent.Services;

/// <summary>TCP connections and UDP flows leaving from the target's network namespace (<see cref="TcpRelay"/>, <see cref="UdpRelay"/>).</summary>
internal sealed class OutgoingServiceImpl(TargetNetwork network, ILogger<OutgoingServiceImpl> logger) : OutgoingService.OutgoingServiceBase
{
    public override async Task ConnectTcp(IAsyncStreamReader<TcpClientMessage> requestStream, IServerStreamWriter<TcpServerMessage> responseStream, ServerCallContext context)
    {
        using var relay = new TcpRelay(requestStream, responseStream, logger);
        await relay.RunAsync(network, context.CancellationToken).ConfigureAwait(false);
    }

    public override async Task OpenUdp(IAsyncStreamReader<UdpClientMessage> requestStream, IServerStreamWriter<UdpServerMessage> responseStream, ServerCallContext context)
    {
        using var relay = new UdpRelay(requestStream, responseStream, logger);
        await relay.RunAsync(network, context.CancellationToken).ConfigureAwait(false);
    }
}
