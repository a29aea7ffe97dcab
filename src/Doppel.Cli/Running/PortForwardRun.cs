using System.Runtime.InteropServices;
using Doppel.Config;
using Doppel.Session.Agent;
using Doppel.Session.Forwarding;
using Doppel.Session.Incoming;
using Microsoft.Extensions.Logging;

namespace Doppel.Cli.Running;

/// <summary>
/// <c>doppel port-forward</c> after its flags are parsed: binds the -L listeners, gets the agent as exec
/// does (<see cref="TargetRun.WithAgentAsync"/>: a cluster agent placed or joined, or a local one),
/// runs a <see cref="PortForwardSession"/> and waits. Progress goes to stderr:
/// <code>
///   starting agent on node n1 ... → agent ready (…)
///   session: deployment/bff (pid 12, …)
///   forwarding 127.0.0.1:8080 → postgres:5432 from deployment/bff
///   steal :80 → localhost:3000 (filter ^X-Dev-User: alice$)        (once the agent has subscribed it)
///   incoming: also stealing from pod bff-…-x2 (2 replicas)           (-R on a workload: every ready replica, followed)
///   port-forward ready; Ctrl+C stops it.
/// </code>
/// Exit codes: 0 after Ctrl+C (SIGINT, SIGTERM or SIGHUP: listeners closed, -R ports unsubscribed,
/// forwarded connections reset); 69 when the agent cannot be had or stays unreachable for
/// <see cref="PortForwardSession.GoneAfter"/> (one sentence), or a -L port cannot be listened on;
/// 130 when interrupted before forwarding began; 2 for a bad configuration, or -R without a target.
/// </summary>
internal static class PortForwardRun
{
    public static async Task<int> RunAsync(
        DoppelConfig config, IReadOnlyList<LocalForward> locals, IReadOnlyList<ReverseForward> reverses, CliEnvironment environment, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var console = environment.Console;

        // mirrord's port-forward without a target is targetless: the agent runs in a pod of its own.
        config = config.Target is null ? config with { Target = new TargetConfig { Path = "targetless", Kind = TargetKind.Targetless } } : config;
        if (config.Target!.Kind == TargetKind.Targetless && reverses.Count > 0)
        {
            console.WriteError($"-R {reverses[0].RemotePort}:{reverses[0].LocalPort} takes the target's incoming traffic, and a targetless session has no target; give one with -t (pod/NAME, deployment/NAME, …).");
            return ExitCodes.ConfigError;
        }

        ForwardListeners listeners;
        try
        {
            listeners = ForwardListeners.Bind(locals);
        }
        catch (PortForwardException e)
        {
            console.WriteError($"{e.Message} Nothing was forwarded.");
            return ExitCodes.Unavailable;
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var registrations = new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP }
            .Select(signal => PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true; // doppel closes what it opened, then exits
                stop.Cancel();
            }))
            .ToList();
        var forwarding = false;
        var replicas = new TargetRun.ReplicaHook(); // -R at every ready replica of a workload, as exec's incoming traffic
        try
        {
            return await TargetRun.WithAgentAsync(
                config,
                environment,
                loggers,
                "the port-forward",
                (transport, ct) => ForwardAsync(config, listeners, locals, reverses, transport, environment, loggers, () => forwarding = true, replicas.Follow, ct),
                stop.Token,
                replicas).ConfigureAwait(false);
        }
        catch (Exception e) when (stop.IsCancellationRequested && e is OperationCanceledException or Grpc.Core.RpcException or AgentConnectionException)
        {
            return forwarding ? ExitCodes.Success : ExitCodes.Interrupted;
        }
        finally
        {
            listeners.Dispose(); // again after the session's dispose: closing twice is harmless
            foreach (var registration in registrations)
            {
                registration.Dispose();
            }
        }
    }

    private static async Task<int> ForwardAsync(
        DoppelConfig config, ForwardListeners listeners, IReadOnlyList<LocalForward> locals, IReadOnlyList<ReverseForward> reverses, IAgentTransport transport,
        CliEnvironment environment, ILoggerFactory loggers, Action started,
        Func<IIncomingAgents, CancellationToken, Task<IAsyncDisposable?>>? replicas, CancellationToken cancellationToken)
    {
        var console = environment.Console;
        PortForwardSession session;
        try
        {
            session = await PortForwardSession.StartAsync(
                new PortForwardOptions
                {
                    Config = config,
                    Listeners = listeners,
                    Reverse = reverses,
                    ClientVersion = TargetRun.Version,
                    SessionName = PortForwardSession.NameOf(TargetRun.LocalEnvironment()),
                    Info = console.WriteInfo,
                    Warn = console.WriteWarning,
                    Error = console.WriteError,
                },
                transport,
                loggers,
                cancellationToken).ConfigureAwait(false);
        }
        catch (AgentConnectionException e) when (!cancellationToken.IsCancellationRequested)
        {
            console.WriteError($"{e.Message.TrimEnd('.')}; nothing was forwarded.");
            return ExitCodes.Unavailable;
        }

        await using (session.ConfigureAwait(false))
        {
            started();
            console.WriteInfo(session.Description);
            var target = config.Target!.Kind == TargetKind.Targetless ? "a targetless pod" : config.Target.Path;
            if (await session.OtherSessionsLineAsync(target, cancellationToken).ConfigureAwait(false) is { } others)
            {
                console.WriteInfo(others);
            }

            foreach (var local in locals)
            {
                console.WriteInfo($"forwarding {local} from {target}");
            }

            foreach (var reverse in reverses)
            {
                var mode = config.Feature.Network.Incoming.Mode == IncomingMode.Steal ? "stealing" : "mirroring";
                console.WriteInfo($"{mode} {target}'s port {reverse.RemotePort} to 127.0.0.1:{reverse.LocalPort}");
            }

            // The other replicas' agents take the -R ports too; stopped before the session (its own agent) ends.
            await using var following = (reverses.Count == 0 || replicas is null ? null : await replicas(session, cancellationToken).ConfigureAwait(false)) ?? TargetRun.NoReplicas.Instance;
            console.WriteInfo("port-forward ready; Ctrl+C stops it.");
            var ended = await Task.WhenAny(session.Gone, Task.Delay(Timeout.Infinite, cancellationToken)).ConfigureAwait(false);
            if (ended == session.Gone)
            {
                console.WriteError(await session.Gone.ConfigureAwait(false) + ".");
                return ExitCodes.Unavailable;
            }

            console.WriteInfo("stopping the port-forward ...");
            return ExitCodes.Success;
        }
    }
}
