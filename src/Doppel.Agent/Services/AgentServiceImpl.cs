using Doppel.Agent.Sessions;
using Doppel.Agent.Targets;
using Doppel.Protocol;
using Doppel.Protocol.V1;
using Doppel.Agent.Logging;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Doppel.Agent.Services;

/// <summary>Hello (version negotiation, target, features; records the session), Ping and Status (the sessions).</summary>
internal sealed class AgentServiceImpl(Target target, AgentSessions sessions, ILogger<AgentServiceImpl> logger) : AgentService.AgentServiceBase
{
    private static readonly string s_agentVersion =
        typeof(AgentServiceImpl).Assembly.GetName().Version?.ToString() ?? "0.0.0";

    public override Task<HelloResponse> Hello(HelloRequest request, ServerCallContext context)
    {
        var version = VersionNegotiation.ChooseOrThrow(request);
        AgentLog.Hello(logger, request.SessionName, request.ClientVersion, version);
        sessions.Hello(context.RequestHeaders.GetValue(SessionMetadata.Key), context.GetHttpContext().Connection.Id, request);
        var response = new HelloResponse
        {
            Version = version,
            AgentVersion = s_agentVersion,
            Target = TargetInfo(),
        };
        // Targetless: an empty environment and, read-only, the namespace's resolv.conf and hosts.
        response.Features.Add(ProtocolFeatures.Hostname);
        response.Features.Add(ProtocolFeatures.Environment);
        response.Features.Add(ProtocolFeatures.FilesRead);
        response.Features.Add(ProtocolFeatures.Dns);
        response.Features.Add(ProtocolFeatures.OutgoingTcp);
        response.Features.Add(ProtocolFeatures.OutgoingUdp);
        response.Features.Add(ProtocolFeatures.Status);
        if (!target.IsTargetless)
        {
            response.Features.Add(ProtocolFeatures.FilesWrite);
            response.Features.Add(ProtocolFeatures.Incoming);
            response.Features.Add(ProtocolFeatures.FilesLocks);
            response.Features.Add(ProtocolFeatures.FilesLinks);
            response.Features.Add(ProtocolFeatures.FilesCreateStat);
            response.Features.Add(ProtocolFeatures.FilesWriteAttributes);
            response.Features.Add(ProtocolFeatures.FilesLockStat);
            response.Features.Add(ProtocolFeatures.FilesWriteRanges);
        }

        return Task.FromResult(response);
    }

    public override Task<PingResponse> Ping(PingRequest request, ServerCallContext context)
    {
        if (request.Ending && sessions.ForConnection(context.GetHttpContext().Connection.Id) is { } session)
        {
            session.Ending = true;
        }

        return Task.FromResult(new PingResponse { Sequence = request.Sequence });
    }

    public override Task<StatusResponse> Status(StatusRequest request, ServerCallContext context)
    {
        var response = new StatusResponse
        {
            AgentVersion = s_agentVersion,
            ProtocolVersion = ProtocolVersion.Current,
            Target = TargetInfo(),
            StartedUnixMs = sessions.Started.ToUnixTimeMilliseconds(),
        };
        response.Sessions.Add(sessions.Connected().Select(s => s.ToStatus()));
        return Task.FromResult(response);
    }

    private TargetInfo TargetInfo()
    {
        string hostname;
        try
        {
            hostname = TargetHostname.Read(target).Hostname;
        }
        catch (IOException)
        {
            hostname = string.Empty; // the target has gone; file and env calls will say so
        }

        return new TargetInfo
        {
            Pid = target.Pid,
            ContainerId = target.ContainerId,
            Hostname = hostname,
            Targetless = target.IsTargetless,
        };
    }
}
