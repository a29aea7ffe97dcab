using Doppel.Agent.Targets;
using Grpc.Core;

namespace Doppel.Agent.Services;

/// <summary>Calls that need a target fail with FAILED_PRECONDITION on a targetless agent.</summary>
internal static class TargetRequired
{
    public static void Check(Target target, string what)
    {
        if (target.IsTargetless)
        {
            throw new RpcException(new Status(
                StatusCode.FailedPrecondition,
                $"This agent runs without a target, so it has no {what}; start it with --target pid/N or container/ID."));
        }
    }
}
