using Doppel.Protocol.V1;
using Grpc.Core;

namespace Doppel.Protocol.Tests.EndToEnd;

/// <summary>Hello as the real agent answers it (negotiation from Doppel.Protocol), with a fixed target.</summary>
internal sealed class EchoAgentService : AgentService.AgentServiceBase
{
    public override Task<HelloResponse> Hello(HelloRequest request, ServerCallContext context) =>
        Task.FromResult(new HelloResponse
        {
            Version = VersionNegotiation.ChooseOrThrow(request),
            AgentVersion = "test-agent",
            Target = new TargetInfo { Pid = 4242, ContainerId = "c0ffee", Hostname = "bff-7d9f8" },
            Features = { request.Features.Intersect(ProtocolFeatures.All) },
        });

    public override Task<PingResponse> Ping(PingRequest request, ServerCallContext context) =>
        Task.FromResult(new PingResponse { Sequence = request.Sequence });
}
