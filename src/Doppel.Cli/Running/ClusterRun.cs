using System.Diagnostics;
using Doppel.Config;
using Doppel.Kubernetes;
using Doppel.Kubernetes.Agents;
using Doppel.Kubernetes.Targets;
using Doppel.Session.Agent;
using Microsoft.Extensions.Logging;

namespace Doppel.Cli.Running;

/// <summary>
/// <c>doppel exec</c> with a cluster target, as an ordinary user (no root: nothing is done to this
/// machine's namespaces). Progress goes to stderr, each step with its time:
/// <code>
///   resolving target deployment/bff ...      → target: pod dev/bff-5f..-x2x (container bff) on node n1 (120 ms)
///   starting agent on node n1 ...            → agent ready (pod doppel-agent-… on node n1, 1800 ms)
///   session: … (then the program runs with the session exactly as for a local target)
/// </code>
/// The agents (<see cref="ClusterAgents"/>: a Job, a plain pod for targetless, with <c>-e</c> an
/// ephemeral container in the target pod) are deleted when the session ends, fails or is
/// interrupted — an ephemeral container cannot be deleted and ends <c>agent.ttl</c> seconds after
/// the session; the agent reaches the session through the API server's port-forward
/// (<see cref="PortForwardTransport"/>).
/// </summary>
internal static class ClusterRun
{
    /// <summary>
    /// True when the target's agent runs in a cluster: every Kubernetes target; <c>targetless</c>
    /// when a kubeconfig is found (the <c>kubeconfig</c> key, KUBECONFIG or ~/.kube/config) and
    /// <c>-n</c> does not name a local network namespace (<c>/run/netns/NAME</c>), as mirrord's
    /// targetless runs in the cluster. pid/… and container/… are local.
    /// </summary>
    public static bool IsClusterTarget(DoppelConfig config, CliEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(environment);
        var target = config.Target!;
        switch (target.Kind)
        {
            case TargetKind.Pid or TargetKind.Container:
                return false;
            case TargetKind.Targetless:
                if (target.Namespace is { Length: > 0 } ns && !ns.Contains('/', StringComparison.Ordinal) && File.Exists("/run/netns/" + ns))
                {
                    return false;
                }

                try
                {
                    KubeConnection.KubeconfigFiles(ConnectionOptions(config, environment));
                    return true;
                }
                catch (KubeException)
                {
                    return false;
                }

            default:
                return true;
        }
    }

    /// <summary>
    /// Resolves the target, places the agent (<see cref="ClusterAgents"/>), calls <paramref name="run"/>
    /// with the transport that reaches it through the port-forward, and deletes the agent's workload.
    /// Exit codes: <paramref name="run"/>'s; 2 when the kubeconfig cannot be used; 69 when the target
    /// cannot be resolved or the agent does not start (one sentence ending "<paramref name="what"/> was
    /// not started.", <paramref name="run"/> not called).
    /// </summary>
    /// <param name="what">What is not started when the agent is not there, as it appears in the sentence (<c>'npm'</c>).</param>
    /// <param name="replicas">Given: set to follow the target's other ready replicas (<see cref="ReplicaFollower"/>), each with an agent from the same <see cref="ClusterAgents"/>.</param>
    public static async Task<int> WithAgentAsync(
        DoppelConfig config, CliEnvironment environment, ILoggerFactory loggers, string what,
        Func<IAgentTransport, CancellationToken, Task<int>> run, CancellationToken cancellationToken, TargetRun.ReplicaHook? replicas = null)
    {
        var console = environment.Console;
        var target = config.Target!;
        var notStarted = $"{what} was not started.";

        KubeConnection connection;
        try
        {
            connection = KubeConnection.Open(ConnectionOptions(config, environment));
        }
        catch (KubeException e)
        {
            console.WriteError($"{e.Message} {notStarted}");
            return ExitCodes.ConfigError;
        }

        using (connection)
        {
            var agents = new ClusterAgents(connection, config.Agent, console, loggers);
            string? starting = null; // what was under way before `run`, for the line Ctrl+C then gets
            try
            {
                try
                {
                    IAgentTransport transport;
                    if (target.Kind == TargetKind.Targetless)
                    {
                        starting = "starting the agent";
                        transport = await agents.ForTargetlessAsync(target.Namespace ?? connection.Namespace, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        starting = "resolving the target";
                        var clock = Stopwatch.StartNew();
                        var resolved = await console.ProgressAsync(
                            $"resolving target {target.Path}",
                            () => new TargetResolver(connection).ResolveAsync(target, cancellationToken),
                            r => $"target: pod {r.Namespace}/{r.Pod} (container {r.Container}) on node {r.Node} ({clock.ElapsedMilliseconds} ms)").ConfigureAwait(false);
                        starting = "starting the agent";
                        transport = await agents.ForPodAsync(resolved, cancellationToken).ConfigureAwait(false);
                        if (replicas is not null)
                        {
                            // Incoming traffic at every ready replica of a workload, not only this pod (issue 12 item 3).
                            replicas.Follow = async (session, ct) => await ReplicaFollower.StartAsync(
                                connection, target, resolved, session, agents.ForPodAsync, console, loggers.CreateLogger("doppel.replicas"), ct).ConfigureAwait(false);
                        }
                    }

                    starting = null;
                    return await run(transport, cancellationToken).ConfigureAwait(false);
                }
                catch (KubeException e) when (!cancellationToken.IsCancellationRequested)
                {
                    console.WriteError($"{e.Message.TrimEnd('.')}; {notStarted}");
                    return ExitCodes.Unavailable;
                }
            }
            finally
            {
                await agents.DisposeAsync().ConfigureAwait(false);
                if (starting is not null && cancellationToken.IsCancellationRequested)
                {
                    // Ctrl+C before the program ran: one line saying what became of the agent (docs/cli.md,
                    // "Ctrl+C and signals"); the caller exits 130.
                    console.WriteInfo($"doppel: interrupted while {starting}; {await agents.LeftBehindAsync().ConfigureAwait(false)}");
                }
            }
        }
    }

    private static KubeConnectionOptions ConnectionOptions(DoppelConfig config, CliEnvironment environment) => new()
    {
        Kubeconfig = config.Kubeconfig,
        Context = config.KubeContext,
        Namespace = config.Target?.Namespace,
        AcceptInvalidCertificates = config.AcceptInvalidCertificates,
        Variables = environment.Variables,
    };
}
