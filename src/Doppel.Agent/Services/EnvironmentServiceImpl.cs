using System.Text;
using Doppel.Agent.Targets;
using Doppel.Protocol;
using Doppel.Protocol.V1;
using Grpc.Core;

namespace Doppel.Agent.Services;

/// <summary>
/// /proc/PID/environ without the never-imported variables (<see cref="EnvironmentRules"/>); the
/// session applies feature.env (Protocol README, "Environment"). Empty for a targetless agent.
/// </summary>
internal sealed class EnvironmentServiceImpl(Target target) : EnvironmentService.EnvironmentServiceBase
{
    public override async Task<GetEnvironmentResponse> GetEnvironment(GetEnvironmentRequest request, ServerCallContext context)
    {
        var response = new GetEnvironmentResponse();
        if (target.IsTargetless)
        {
            return response; // no process, no environment
        }

        byte[] environ;
        try
        {
            environ = await File.ReadAllBytesAsync($"/proc/{target.Pid}/environ", context.CancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            response.Error = PosixErrors.From(e);
            return response;
        }

        foreach (var entry in Encoding.UTF8.GetString(environ).Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = entry.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0 && !EnvironmentRules.IsNeverImported(entry[..equals]))
            {
                response.Variables.Add(new EnvironmentVariable { Name = entry[..equals], Value = entry[(equals + 1)..] });
            }
        }

        return response;
    }
}
