using System.Diagnostics;
using System.Reflection;
using Doppel.Config.Logging;
using Doppel.Config;
using Doppel.Interception;
using Doppel.Linux.Text;
using Doppel.Session.Agent;
using Doppel.Session.Env;
using Doppel.Session.Incoming;
using Doppel.Session.Sessions;
using Microsoft.Extensions.Logging;

namespace Doppel.Cli.Running;

/// <summary>
/// <c>doppel exec</c> with a target: <see cref="WithAgentAsync"/> gets the agent (a cluster target's
/// through <see cref="ClusterRun"/>, a local target's <c>doppel-agent</c>), then
/// <see cref="RunSessionAsync"/> starts a <see cref="DoppelSession"/> with it (environment, policy,
/// remote), runs the program with the session, and turns what happened into an exit code.
/// </summary>
internal static class TargetRun
{
    /// <param name="verbose"><c>-v</c>: at exit, the incoming requests and connections the session was handed, per port.</param>
    /// <param name="podDirectory">
    /// <c>-C</c> naming a directory that is not on this machine (absolute): the program starts in the pod's
    /// directory of that path (<see cref="InterceptionOptions.VirtualWorkingDirectory"/>); exit 2 when the
    /// pod has no such directory either or the file mode does not serve it from the pod.
    /// </param>
    public static async Task<int> RunAsync(DoppelConfig config, IReadOnlyList<string> commandLine, CliEnvironment environment, ILoggerFactory loggers, ProgramSignals signals, bool verbose, CancellationToken cancellationToken, string? podDirectory = null)
    {
        // The env file is part of the configuration: a broken one stops doppel before any agent starts.
        if (ReadEnvFile(config, commandLine, environment) is not { } envFile)
        {
            return ExitCodes.ConfigError;
        }

        // A program that certainly cannot start is said now, not after the agent is placed.
        if (ProgramCheck.Refusal(config, commandLine[0], envFile, environment.WorkingDirectory, podDirectory is not null) is { } refusal)
        {
            environment.Console.Error.WriteLine(refusal.Line);
            return refusal.ExitCode;
        }

        var replicas = new ReplicaHook();
        return await WithAgentAsync(
            config, environment, loggers, $"'{commandLine[0]}'",
            (transport, ct) => RunSessionAsync(config, commandLine, environment, loggers, signals, verbose, envFile, transport, podDirectory, ct, replicas.Follow),
            cancellationToken,
            replicas).ConfigureAwait(false);
    }

    /// <summary>
    /// Gets an agent for the configured target, calls <paramref name="run"/> with the transport that
    /// reaches it, and releases the agent: a cluster target (and targetless with a kubeconfig) through
    /// <see cref="ClusterRun.WithAgentAsync"/>, no root needed; a local target with a local
    /// <c>doppel-agent</c> (root; joined through DOPPEL_AGENT_SOCKET or the target's
    /// <see cref="SharedAgentSlot"/> when another session runs one). Returns <paramref name="run"/>'s
    /// exit code; without an agent, one sentence ending "<paramref name="what"/> was not started."
    /// and 77 (not root), 69 (no agent binary, the agent does not start or the cluster target
    /// cannot be resolved) or 2 (the kubeconfig cannot be used).
    /// </summary>
    /// <param name="what">What is not started when there is no agent, as it appears in the sentence (<c>'npm'</c>, with its quotes).</param>
    /// <param name="run">The work with the agent: the transport and the cancellation token; its result is the exit code.</param>
    /// <param name="replicas">
    /// Given: before <paramref name="run"/> is called, its <see cref="ReplicaHook.Follow"/> is set when the
    /// target has other replicas whose agents a session's incoming traffic should reach too (a cluster
    /// workload's other ready pods, <see cref="ReplicaFollower"/>; DOPPEL_REPLICA_AGENT_SOCKETS).
    /// </param>
    public static async Task<int> WithAgentAsync(
        DoppelConfig config, CliEnvironment environment, ILoggerFactory loggers, string what,
        Func<IAgentTransport, CancellationToken, Task<int>> run, CancellationToken cancellationToken, ReplicaHook? replicas = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(run);
        var target = config.Target!;
        var console = environment.Console;

        // A cluster target (and targetless with a kubeconfig): the agent runs in the cluster, no root needed.
        if (ClusterRun.IsClusterTarget(config, environment))
        {
            return await ClusterRun.WithAgentAsync(config, environment, loggers, what, run, cancellationToken, replicas).ConfigureAwait(false);
        }

        if (!System.Environment.IsPrivilegedProcess)
        {
            console.WriteError($"target '{target.Path}' needs a local agent, which joins the target's namespaces and so must run as root: run doppel as root (for example with sudo).");
            return ExitCodes.NoPermission;
        }

        if (LocalAgent.FindExecutable(environment.Variables) is not { } agentExecutable)
        {
            console.WriteError("doppel-agent was not found next to doppel nor at DOPPEL_AGENT_BINARY: build it with scripts/build.sh (it writes artifacts/doppel-agent) or point DOPPEL_AGENT_BINARY at it.");
            return ExitCodes.Unavailable;
        }

        var targetless = target.Kind == TargetKind.Targetless;
        string[] targetArguments = targetless && target.Namespace is { Length: > 0 } netns
            ? ["--target", "targetless", "--netns", netns]
            : ["--target", target.Path];

        LocalAgent agent;
        try
        {
            var started = Stopwatch.StartNew();

            // An agent that already serves the target (DOPPEL_AGENT_SOCKET) is joined, not started;
            // else the target's shared slot gives the agent another session started, or starts one.
            agent = environment.Variables(LocalAgent.SocketVariable) is { Length: > 0 } shared
                ? LocalAgent.Attach(shared, loggers.CreateLogger("doppel.agent"))
                : await console.ProgressAsync(
                    $"starting doppel-agent for {target.Path}",
                    () => LocalAgent.StartAsync(
                        agentExecutable,
                        targetArguments,
                        SharedAgentSlot.Key(target),
                        new LocalAgent.Settings(
                            TimeSpan.FromSeconds(Math.Max(config.Agent.Ttl, 1)),
                            TimeSpan.FromSeconds(config.Agent.StartupTimeout),
                            AgentLogLevel(config.Agent.LogLevel)),
                        console.WriteWarning,
                        AgentLine(console),
                        loggers.CreateLogger("doppel.agent"),
                        cancellationToken),
                    a => a.Joined
                        ? $"agent ready (pid {a.ProcessId}, {started.ElapsedMilliseconds} ms; shared with another session of {target.Path})"
                        : $"agent ready (pid {a.ProcessId}, {started.ElapsedMilliseconds} ms)").ConfigureAwait(false);
        }
        catch (AgentConnectionException e) when (!cancellationToken.IsCancellationRequested)
        {
            console.WriteError($"{Sentence(e.Message)} {what} was not started.");
            return ExitCodes.Unavailable;
        }

        await using (agent.ConfigureAwait(false))
        {
            // Agents of other replicas of the target (DOPPEL_REPLICA_AGENT_SOCKETS) take its incoming traffic too.
            if (replicas is not null && environment.Variables(ReplicaFollower.LocalSocketsVariable) is { Length: > 0 } sockets)
            {
                replicas.Follow = (session, ct) => ReplicaFollower.AddLocalAsync(session, sockets, console, ct);
            }

            return await run(agent.Endpoint, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The part of <c>doppel exec</c> after the agent is placed, for local and cluster targets alike:
    /// starts a <see cref="DoppelSession"/> with the agent <paramref name="transport"/> reaches, runs
    /// the program with it and turns what happened into an exit code (the program's own, or
    /// <see cref="ExitCodes.Unavailable"/> when the session cannot start, <see cref="ExitCodes.WriteBackFailed"/>).
    /// <paramref name="replicas"/>, when given, is called once the session has started (before the
    /// program): it adds the agents of the target's other replicas (<see cref="ReplicaFollower"/>), and
    /// what it returns is disposed when the program has ended, before the session.
    /// </summary>
    internal static async Task<int> RunSessionAsync(
        DoppelConfig config, IReadOnlyList<string> commandLine, CliEnvironment environment, ILoggerFactory loggers, ProgramSignals signals, bool verbose,
        IReadOnlyList<KeyValuePair<string, string>> envFile, IAgentTransport transport, string? podDirectory, CancellationToken cancellationToken,
        Func<IIncomingAgents, CancellationToken, Task<IAsyncDisposable?>>? replicas = null)
    {
        var console = environment.Console;
        var sessionOptions = new SessionOptions
        {
            Config = config,
            Program = commandLine[0],
            WorkingDirectory = environment.WorkingDirectory,
            LocalEnvironment = LocalEnvironment(),
            EnvFile = envFile,
            ClientVersion = Version,
            Warn = console.WriteWarning,

            // A cluster's targetless agent is a pod in a Kubernetes namespace, not a local network namespace.
            TargetlessPlace = transport is PortForwardTransport { Current: var agent } ? $"in namespace {agent.Namespace} (agent pod {agent.Namespace}/{agent.PodName})" : null,

            // One progress line per port subscribed at the agent (docs/cli.md, "Incoming traffic").
            Info = console.WriteInfo,

            // A write-back the pod refuses is one error line naming the file (docs/cli.md, "Write mode").
            ReportError = console.WriteError,

            // ...and a later success of it takes that line back in one more (docs/cli.md, "Write mode").
            ReportRecovered = message => console.WriteInfo("doppel: " + message),

            // The final flush at exit says so, and a further Ctrl+C skips it (docs/cli.md, "Write mode").
            FinalFlushStarting = signals.FinalFlushStarting,
        };
        DoppelSession session;
        try
        {
            session = await DoppelSession.StartAsync(sessionOptions, transport, loggers, cancellationToken).ConfigureAwait(false);
        }
        catch (AgentConnectionException e) when (!cancellationToken.IsCancellationRequested)
        {
            console.WriteError($"{Sentence(e.Message)} '{commandLine[0]}' was not started.");
            return ExitCodes.Unavailable;
        }
        catch (SessionStartException e) when (!cancellationToken.IsCancellationRequested)
        {
            console.WriteError($"{e.Message}; '{commandLine[0]}' was not started.");
            return ExitCodes.Unavailable;
        }

        await using (session.ConfigureAwait(false))
        {
            console.WriteInfo(session.Description);
            if (await session.OtherSessionsLineAsync(config.Target!.Path, cancellationToken).ConfigureAwait(false) is { } others)
            {
                console.WriteInfo(others);
            }

            console.ProgramStarting(); // the replica follower's joins run beside the program: plain lines from here
            await using var following = (replicas is null ? null : await replicas(session, cancellationToken).ConfigureAwait(false)) ?? NoReplicas.Instance;
            var programEnvironment = session.Environment;
            if (podDirectory is not null)
            {
                if (!await IsPodDirectoryAsync(session, podDirectory, cancellationToken).ConfigureAwait(false))
                {
                    console.WriteError($"--cwd names '{Printable.Escape(podDirectory)}', which is a directory neither on this machine nor in the target's file system as feature.fs serves it; '{commandLine[0]}' was not started.");
                    return ExitCodes.ConfigError;
                }

                // What a shell sets when it changes directory: programs that trust PWD see the pod's.
                programEnvironment = new Dictionary<string, string>(programEnvironment, StringComparer.Ordinal) { ["PWD"] = podDirectory };
            }

            var options = new InterceptionOptions
            {
                Program = commandLine[0],
                Arguments = commandLine.Skip(1).ToArray(),
                Environment = programEnvironment,
                VirtualWorkingDirectory = podDirectory,
                WorkingDirectory = environment.WorkingDirectory,
                OpenFilesLimit = InterceptionOptions.ParentOpenFilesLimit(),
                Logger = loggers.CreateLogger("doppel.interception"),

                // A process the program leaves behind (server &, a daemon) still makes trapped calls:
                // the session serves it until it exits (docs/cli.md, "Processes left running").
                KeepServingLeftBehind = true,
                Files = session.Files,
            };
            await using var process = await InterceptedProcess.StartAsync(options, session.Policy, session.Remote, cancellationToken).ConfigureAwait(false);
            var code = await signals.SuperviseAsync(process, commandLine[0]).ConfigureAwait(false);
            if (verbose)
            {
                foreach (var line in session.IncomingSummary)
                {
                    console.WriteInfo("incoming: " + line);
                }
            }

            // The program's own failure stays its code; a success whose writes did not all reach the pod is not one.
            return code == ExitCodes.Success && session.UnsentFiles.Count > 0 ? ExitCodes.WriteBackFailed : code;
        }
    }

    /// <summary>True when the session serves <paramref name="path"/> from the pod and the pod has a directory there.</summary>
    private static async Task<bool> IsPodDirectoryAsync(DoppelSession session, string path, CancellationToken cancellationToken)
    {
        var remotePath = session.Policy.MapPath(path);
        if (session.Policy.DecideFile(remotePath, Doppel.Interception.Policy.FileIntent.Read) != Doppel.Interception.Policy.InterceptionDecision.Remote)
        {
            return false;
        }

        try
        {
            var entry = await session.Remote.GetEntryAsync(remotePath, followSymlinks: true, cancellationToken).ConfigureAwait(false);
            return entry?.Kind == Doppel.Interception.Remote.RemoteEntryKind.Directory;
        }
        catch (Doppel.Interception.Remote.RemoteFileException)
        {
            return false; // EACCES and the like: not a directory the program could start in
        }
    }

    /// <summary>
    /// How <see cref="WithAgentAsync"/> tells its caller's session about the target's other replicas:
    /// <see cref="Follow"/>, set before the callback runs, is what <see cref="RunSessionAsync"/> takes as its <c>replicas</c>.
    /// </summary>
    internal sealed class ReplicaHook
    {
        /// <summary>Adds the other replicas' agents to a started session (null: none to add); what it returns is disposed before the session.</summary>
        public Func<IIncomingAgents, CancellationToken, Task<IAsyncDisposable?>>? Follow { get; set; }
    }

    /// <summary>Nothing to stop: no replicas followed.</summary>
    internal sealed class NoReplicas : IAsyncDisposable
    {
        public static readonly NoReplicas Instance = new();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private static string Sentence(string message) => message.EndsWith('.') ? message : message + ".";

    internal static string Version =>
        typeof(TargetRun).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    /// <summary>
    /// <c>agent.log_level</c> (a level or RUST_LOG-style directives, <see cref="LogLevels.Parse"/>:
    /// the most detailed level named wins) as the agent's <c>--log-level</c> word.
    /// </summary>
    internal static string AgentLogLevel(string? configured) => LogLevels.AgentWord(configured);

    /// <summary>
    /// The agent's log lines, on doppel's standard error as <c>agent: LEVEL: message</c>. The agent
    /// escapes control characters itself; a line that still has one (an agent of another version) is
    /// escaped here (<see cref="Printable.Escape"/>), so it cannot drive the terminal.
    /// </summary>
    internal static Action<string> AgentLine(IUserConsole console)
    {
        var gate = new Lock();
        return line =>
        {
            var shown = line.Any(char.IsControl) ? Printable.Escape(line) : line;
            lock (gate)
            {
                console.Error.WriteLine("agent: " + shown);
            }
        };
    }

    /// <summary>
    /// Reads <c>feature.env.env_file</c> (<see cref="SessionEnvironment.ReadEnvFile"/>); null, after one
    /// error line naming the file and line, when it cannot be read or is broken (exit 2, nothing started).
    /// </summary>
    internal static IReadOnlyList<KeyValuePair<string, string>>? ReadEnvFile(DoppelConfig config, IReadOnlyList<string> commandLine, CliEnvironment environment)
    {
        try
        {
            return SessionEnvironment.ReadEnvFile(config.Feature.Env, LocalEnvironment(), environment.WorkingDirectory);
        }
        catch (EnvFileException e)
        {
            environment.Console.WriteError($"{e.Message} '{commandLine[0]}' was not started.");
            return null;
        }
    }

    /// <summary>The environment doppel runs with, name → value.</summary>
    internal static Dictionary<string, string> LocalEnvironment()
    {
        var local = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in System.Environment.GetEnvironmentVariables())
        {
            local[(string)entry.Key] = (string?)entry.Value ?? string.Empty;
        }

        return local;
    }
}
