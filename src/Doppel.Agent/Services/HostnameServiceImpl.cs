using Doppel.Agent.Targets;
using Doppel.Protocol.V1;
using Grpc.Core;

namespace Doppel.Agent.Services;

/// <summary>The target's uname nodename and domainname (see <see cref="TargetHostname"/>); the agent's own when targetless.</summary>
internal sealed class HostnameServiceImpl(Target target) : HostnameService.HostnameServiceBase
{
    public override Task<GetHostnameResponse> GetHostname(GetHostnameRequest request, ServerCallContext context)
    {
        try
        {
            var (hostname, domainname) = TargetHostname.Read(target);
            return Task.FromResult(new GetHostnameResponse { Hostname = hostname, Domainname = domainname == "(none)" ? string.Empty : domainname });
        }
        catch (IOException e)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, e.Message));
        }
    }
}
