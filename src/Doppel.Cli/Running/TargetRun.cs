using System.Diagnostics;
using System.Net;
using System.Reflection;
using Doppel.Config;
using Doppel.Interception;
using Doppel.Interception.Launching;
using Doppel.Protocol.V1;
using Doppel.Session.Agent;
using Doppel.Session.Env;
using Doppel.Session.Files;
using Doppel.Session.Policy;
using Doppel.Session.Remote;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Doppel.Cli.Running;

/// <summary>
/// <c>doppel exec</c> with a local target: starts a <c>doppel-agent</c> for it, connects a session,
/// builds the program's environment and the interception policy from the configuration, runs the
/// program with the agent as its remote side, and passes its exit code through.
/// </summary>
internal static class TargetRun
{
    public static async Task<int> RunAsync(DoppelConfig config, IReadOnlyList<string> commandLine, CliEnvironment environment, ILoggerFactory loggers, ProgramSignals signals, CancellationToken cancellationToken)
    {
        var target = config.Target!;
        var console = environment.Console;

        // The env file is part of the configuration: a broken one stops doppel before any agent starts.
        IReadOnlyList<KeyValuePair<string, string>> envFile;
        try
        {
            envFile = SessionEnvironment.ReadEnvFile(config.Feature.Env, LocalEnvironment(), environment.WorkingDirectory);
        }
        catch (EnvFileException e)
        {
            console.WriteError($"{e.Message} '{commandLine[0]}' was not started.");
            return ExitCodes.ConfigError;
        }

        if (target.Kind is not (TargetKind.Pid or TargetKind.Container or TargetKind.Targetless))
        {
            console.WriteError(
                $"target '{target.Path}' is a Kubernetes target, and this build of doppel cannot reach a cluster yet, so '{commandLine[0]}' was not started; " +
                "locally, use pid/PID, container/ID or targetless.");
            return ExitCodes.Unavailable;
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

        var logger = loggers.CreateLogger("doppel.session");
        var targetless = target.Kind == TargetKind.Targetless;
        if (config.Feature.Network.Incoming.Mode == IncomingMode.Steal)
        {
            // Asked for explicitly, so not left silent (mirror, the default, is not warned about).
            console.WriteWarning(
                "incoming traffic is not served by this build yet, so steal takes nothing from the target: " +
                $"'{commandLine[0]}' gets only the connections made to it on this machine.");
        }

        string[] targetArguments = targetless && target.Namespace is { Length: > 0 } netns
            ? ["--target", "targetless", "--netns", netns]
            : ["--target", target.Path];

        LocalAgent agent;
        AgentConnection connection;
        try
        {
            var started = Stopwatch.StartNew();
            agent = await console.ProgressAsync(
                $"starting doppel-agent for {target.Path}",
                () => LocalAgent.StartAsync(
                    agentExecutable,
                    targetArguments,
                    TimeSpan.FromSeconds(Math.Max(config.Agent.Ttl, 1)),
                    TimeSpan.FromSeconds(config.Agent.StartupTimeout),
                    console.WriteWarning,
                    logger,
                    cancellationToken),
                a => $"agent ready (pid {a.ProcessId}, {started.ElapsedMilliseconds} ms)").ConfigureAwait(false);
        }
        catch (AgentConnectionException e) when (!cancellationToken.IsCancellationRequested)
        {
            console.WriteError($"{Sentence(e.Message)} '{commandLine[0]}' was not started.");
            return ExitCodes.Unavailable;
        }

        await using (agent.ConfigureAwait(false))
        {
            try
            {
                connection = await AgentConnection.ConnectAsync(agent.Endpoint, config.Key ?? "doppel", Version, cancellationToken).ConfigureAwait(false);
            }
            catch (AgentConnectionException e) when (!cancellationToken.IsCancellationRequested)
            {
                console.WriteError($"{Sentence(e.Message)} '{commandLine[0]}' was not started.");
                return ExitCodes.Unavailable;
            }

            using (connection)
            {
                console.WriteInfo(Describe(connection.Hello.Target, target));
                return await RunProgramAsync(config, commandLine, environment, connection, targetless, envFile, loggers, logger, signals, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static string Sentence(string message) => message.EndsWith('.') ? message : message + ".";

    private static string Version =>
        typeof(TargetRun).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    private static async Task<int> RunProgramAsync(
        DoppelConfig config,
        IReadOnlyList<string> commandLine,
        CliEnvironment environment,
        AgentConnection connection,
        bool targetless,
        IReadOnlyList<KeyValuePair<string, string>> envFile,
        ILoggerFactory loggers,
        ILogger logger,
        ProgramSignals signals,
        CancellationToken cancellationToken)
    {
        var console = environment.Console;
        IReadOnlyDictionary<string, string> programEnvironment;
        IReadOnlyDictionary<string, IReadOnlySet<IPAddress>> names;
        try
        {
            var targetVariables = config.Feature.Env.Enabled && !targetless
                ? await TargetEnvironmentAsync(connection, cancellationToken).ConfigureAwait(false)
                : new Dictionary<string, string>();
            programEnvironment = SessionEnvironment.Build(config.Feature.Env, targetVariables, LocalEnvironment(), envFile);
            names = await ResolveFilterNamesAsync(config, connection, console.WriteWarning, logger, cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            console.WriteError($"the agent failed while the session started ({e.StatusCode}: {e.Status.Detail}); '{commandLine[0]}' was not started.");
            return ExitCodes.Unavailable;
        }

        var hostname = config.Feature.Hostname && connection.Hello.Target.Hostname is { Length: > 0 } h ? h : null;
        var policy = new ConfigPolicy(
            config,
            environment.WorkingDirectory,
            ExecutablePath(commandLine[0], programEnvironment, environment.WorkingDirectory),
            programEnvironment.GetValueOrDefault("HOME"),
            targetless,
            names);
        var steering = DnsSteering.From(config);
        foreach (var warning in steering.Warnings)
        {
            console.WriteWarning(warning);
        }

        var remote = new GrpcRemote(connection, hostname, loggers.CreateLogger("doppel.remote"), new DnsRouting(steering, LocalResolver.Nameserver()));
        await using (remote.ConfigureAwait(false))
        {
            // A write-back the pod refuses is one error line naming the file (docs/cli.md, "Write mode").
            using var files = new FileSync(remote, console.WriteError);
            var options = new InterceptionOptions
            {
                Program = commandLine[0],
                Arguments = commandLine.Skip(1).ToArray(),
                Environment = programEnvironment,
                WorkingDirectory = environment.WorkingDirectory,
                OpenFilesLimit = InterceptionOptions.ParentOpenFilesLimit(),
                Logger = loggers.CreateLogger("doppel.interception"),
                Files = files,
            };
            await using var process = await InterceptedProcess.StartAsync(options, policy, remote, cancellationToken).ConfigureAwait(false);
            var code = await signals.SuperviseAsync(process, commandLine[0]).ConfigureAwait(false);

            // The program's own failure stays its code; a success whose writes did not all reach the pod is not one.
            return code == ExitCodes.Success && files.UnsentFiles.Count > 0 ? ExitCodes.WriteBackFailed : code;
        }
    }

    private static async Task<Dictionary<string, string>> TargetEnvironmentAsync(AgentConnection connection, CancellationToken cancellationToken)
    {
        var response = await connection.Environment.GetEnvironmentAsync(new GetEnvironmentRequest(), deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken).ConfigureAwait(false);
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var variable in response.Variables)
        {
            variables[variable.Name] = variable.Value;
        }

        return variables;
    }

    /// <summary>
    /// The outgoing filter's host names, resolved once, at start, on the side their list sends
    /// them (<see cref="ConfigPolicy.FilterNames"/>); a filter name (the DNS filter's too) that
    /// resolves to nothing gets a warning naming the entry.
    /// </summary>
    private static async Task<IReadOnlyDictionary<string, IReadOnlySet<IPAddress>>> ResolveFilterNamesAsync(
        DoppelConfig config, AgentConnection connection, Action<string> warn, ILogger logger, CancellationToken cancellationToken)
    {
        var names = new Dictionary<string, IReadOnlySet<IPAddress>>(StringComparer.OrdinalIgnoreCase);
        var resolved = new Dictionary<(string, bool), IReadOnlySet<IPAddress>>();
        foreach (var filterName in ConfigPolicy.FilterNames(config))
        {
            var key = (filterName.Name.ToUpperInvariant(), filterName.ResolvedLocally);
            if (!resolved.TryGetValue(key, out var addresses))
            {
                addresses = filterName.ResolvedLocally
                    ? await ResolveLocallyAsync(filterName.Name, cancellationToken).ConfigureAwait(false)
                    : await ResolveRemotelyAsync(filterName.Name, connection, cancellationToken).ConfigureAwait(false);
                resolved[key] = addresses;
                logger.LogDebug("filter name {Name} resolves {Side} to {Addresses}", filterName.Name, filterName.ResolvedLocally ? "locally" : "remotely", string.Join(", ", addresses));
                if (addresses.Count == 0)
                {
                    warn($"{filterName.Filter}: '{filterName.Entry}' names a host that {(filterName.ResolvedLocally ? "this machine's" : "the target's")} resolver does not know, so the entry matches nothing; check the name.");
                }
            }

            if (filterName.Filter == "feature.network.outgoing.filter")
            {
                names[filterName.Name] = addresses;
            }
        }

        return names;
    }

    private static async Task<IReadOnlySet<IPAddress>> ResolveRemotelyAsync(string name, AgentConnection connection, CancellationToken cancellationToken)
    {
        var response = await connection.Dns.LookupAsync(new DnsLookupRequest { Name = name, Family = IpFamily.Unspecified }, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.Addresses.Select(a => new IPAddress(a.Span)).ToHashSet();
    }

    /// <summary>Through doppel's own resolver (the developer's), bounded so a dead nameserver cannot hold the start.</summary>
    private static async Task<IReadOnlySet<IPAddress>> ResolveLocallyAsync(string name, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(15));
        try
        {
            var addresses = await System.Net.Dns.GetHostAddressesAsync(name, timeout.Token).ConfigureAwait(false);
            return addresses.Select(a => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a).ToHashSet();
        }
        catch (System.Net.Sockets.SocketException)
        {
            return new HashSet<IPAddress>();
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new HashSet<IPAddress>();
        }
    }

    private static Dictionary<string, string> LocalEnvironment()
    {
        var local = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in System.Environment.GetEnvironmentVariables())
        {
            local[(string)entry.Key] = (string?)entry.Value ?? string.Empty;
        }

        return local;
    }

    /// <summary>The program's absolute path, found as the launcher will find it (to keep it local); null when not found.</summary>
    private static string? ExecutablePath(string program, IReadOnlyDictionary<string, string> variables, string workingDirectory) =>
        ProgramResolver.Resolve(program, variables.GetValueOrDefault("PATH")).Path is { } path ? Path.GetFullPath(path, workingDirectory) : null;

    private static string Describe(TargetInfo info, TargetConfig target) => info.Targetless
        ? $"session: targetless{(target.Namespace is { Length: > 0 } ns ? $" in network namespace {ns}" : string.Empty)}"
        : $"session: {target.Path} (pid {info.Pid}{(info.ContainerId.Length > 0 ? $", container {info.ContainerId[..Math.Min(12, info.ContainerId.Length)]}" : string.Empty)}, hostname {info.Hostname})";
}
