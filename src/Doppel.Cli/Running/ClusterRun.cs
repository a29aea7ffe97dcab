using System.Diagnostics;
using Doppel.Config;
using Doppel.Kubernetes;
using Doppel.Kubernetes.Agents;
using Doppel.Kubernetes.PortForward;
using Doppel.Kubernetes.Targets;
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
/// The agent's workload (a Job, a plain pod for targetless — <see cref="AgentPlacement"/>) is
/// deleted when the session ends, fails or is interrupted; with <c>-e</c> the agent is an ephemeral
/// container in the target pod (<see cref="EphemeralPlacement"/>), which cannot be deleted and ends
/// <c>agent.ttl</c> seconds after the session; the agent reaches the session through
/// the API server's port-forward (<see cref="PortForwardTransport"/>).
/// </summary>
internal static class ClusterRun
{
    private static readonly TimeSpan s_deleteTimeout = TimeSpan.FromSeconds(10);

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
    /// Resolves the target, places the agent, connects through the port-forward, runs the session
    /// (<see cref="TargetRun.RunSessionAsync"/>) and deletes the agent's workload. Exit codes: the
    /// program's; 2 when the kubeconfig cannot be used; 69 when the target cannot be resolved or
    /// the agent does not start (one sentence, nothing run).
    /// </summary>
    public static async Task<int> RunAsync(
        DoppelConfig config, IReadOnlyList<string> commandLine, CliEnvironment environment, ILoggerFactory loggers, ProgramSignals signals, bool verbose,
        IReadOnlyList<KeyValuePair<string, string>> envFile, string? podDirectory, CancellationToken cancellationToken)
    {
        var console = environment.Console;
        var target = config.Target!;
        var targetless = target.Kind == TargetKind.Targetless;
        var notStarted = $"'{commandLine[0]}' was not started.";

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
            var placement = new AgentPlacement(connection, config.Agent);
            AgentWorkload? created = null;
            var replacements = new List<AgentWorkload>(); // agents placed after the first (not ephemeral ones): deleted at the end too
            string? starting = null; // what was under way before the program ran, for the line Ctrl+C then gets
            string? ephemeralPod = null; // -e: the pod an ephemeral agent goes into (NS/NAME)
            var interrupted = false;
            try
            {
                var clock = Stopwatch.StartNew();
                string where;
                Func<Task<AgentWorkload>> create;
                Func<Task<AgentWorkload>>? ephemeral = null;
                if (targetless)
                {
                    var ns = placement.NamespaceFor(target.Namespace ?? connection.Namespace);
                    where = $"in namespace {ns}";
                    create = () => placement.CreateTargetlessPodAsync(ns, cancellationToken);
                }
                else
                {
                    starting = "resolving the target";
                    var resolved = await console.ProgressAsync(
                        $"resolving target {target.Path}",
                        () => new TargetResolver(connection).ResolveAsync(target, cancellationToken),
                        r => $"target: pod {r.Namespace}/{r.Pod} (container {r.Container}) on node {r.Node} ({clock.ElapsedMilliseconds} ms)").ConfigureAwait(false);
                    where = $"on node {resolved.Node}";
                    create = () => placement.CreateJobAsync(resolved, cancellationToken);
                    if (config.Agent.Ephemeral)
                    {
                        // An ephemeral container cannot be deleted: nothing is recorded in `created`;
                        // the agent exits agent.ttl seconds after the session (docs/kubernetes.md).
                        where = $"in pod {resolved.Namespace}/{resolved.Pod} (ephemeral container)";
                        ephemeralPod = $"{resolved.Namespace}/{resolved.Pod}";
                        ephemeral = () => new EphemeralPlacement(connection).PlaceAsync(resolved, config.Agent, cancellationToken);
                    }
                }

                clock.Restart();
                starting = "starting the agent";
                var workload = await console.ProgressAsync(
                    $"starting agent {where}",
                    async () =>
                    {
                        if (ephemeral is not null)
                        {
                            return await ephemeral().ConfigureAwait(false);
                        }

                        created = await create().ConfigureAwait(false);
                        return await placement.WaitReadyAsync(created, cancellationToken).ConfigureAwait(false);
                    },
                    w => $"agent ready (pod {w.Namespace}/{w.PodName}{(w.Kind == AgentWorkloadKind.EphemeralContainer ? $", container {w.Container}" : "")} on node {w.Node}, {clock.ElapsedMilliseconds} ms)").ConfigureAwait(false);
                created = workload.Kind == AgentWorkloadKind.EphemeralContainer ? null : workload;
                starting = null;

                // The agent's pod deleted or evicted mid-session: a new agent placed as this one was.
                async Task<AgentWorkload> ReplaceAsync(CancellationToken stopping)
                {
                    using var both = CancellationTokenSource.CreateLinkedTokenSource(stopping, cancellationToken);
                    if (ephemeral is not null)
                    {
                        return await ephemeral().WaitAsync(both.Token).ConfigureAwait(false);
                    }

                    var next = await create().WaitAsync(both.Token).ConfigureAwait(false);
                    lock (replacements)
                    {
                        replacements.Add(next);
                    }

                    return await placement.WaitReadyAsync(next, both.Token).ConfigureAwait(false);
                }

                await using var transport = new PortForwardTransport(connection, workload, ReplaceAsync, console.WriteWarning, loggers.CreateLogger("doppel.portforward"));
                return await TargetRun.RunSessionAsync(config, commandLine, environment, loggers, signals, verbose, envFile, transport, podDirectory, cancellationToken).ConfigureAwait(false);
            }
            catch (KubeException e) when (!cancellationToken.IsCancellationRequested)
            {
                console.WriteError($"{e.Message.TrimEnd('.')}; {notStarted}");
                return ExitCodes.Unavailable;
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested && starting is not null)
            {
                interrupted = true; // the caller exits 130; the line below says what became of the agent
                throw;
            }
            finally
            {
                var deleted = created is not null && await DeleteAsync(placement, created, console).ConfigureAwait(false);
                if (interrupted)
                {
                    // One line (docs/cli.md, "Ctrl+C and signals"); the caller exits 130.
                    console.WriteInfo($"doppel: interrupted while {starting}; " + (created is not null
                        ? deleted ? $"deleted {Describe(created)}." : $"{Describe(created)} is left (see the warning above)."
                        : ephemeralPod is not null && starting == "starting the agent"
                            ? $"an ephemeral agent container added to pod {ephemeralPod} stays in its spec (Kubernetes cannot remove one) and exits by itself."
                            : "nothing was left in the cluster."));
                }

                AgentWorkload[] more;
                lock (replacements)
                {
                    more = [.. replacements];
                }

                foreach (var replacement in more)
                {
                    await DeleteAsync(placement, replacement, console).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary><c>job NS/NAME</c> or <c>pod NS/NAME</c>.</summary>
    private static string Describe(AgentWorkload workload)
        => $"{(workload.Kind == AgentWorkloadKind.Job ? "job" : "pod")} {workload.Namespace}/{workload.Name}";

    /// <summary>Deletes the agent's workload whatever happened (also after Ctrl+C); a failure is one warning naming what is left (false).</summary>
    private static async Task<bool> DeleteAsync(AgentPlacement placement, AgentWorkload workload, IUserConsole console)
    {
        using var timeout = new CancellationTokenSource(s_deleteTimeout);
        try
        {
            await placement.DeleteAsync(workload, timeout.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is KubeException or OperationCanceledException)
        {
            var kind = workload.Kind == AgentWorkloadKind.Job ? "job" : "pod";
            console.WriteWarning(
                $"the agent's {kind} {workload.Namespace}/{workload.Name} could not be deleted ({(e is KubeException ? e.Message.TrimEnd('.') : "no answer within 10 s")}); " +
                $"it ends agent.ttl seconds after the session, or delete it with `kubectl delete {kind} {workload.Name} -n {workload.Namespace}`.");
            return false;
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
