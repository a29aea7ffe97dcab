using System.Net;
using Doppel.Config;
using Doppel.Interception.Files;
using Doppel.Interception.Launching;
using Doppel.Interception.Policy;
using Doppel.Interception.Remote;
using Doppel.Protocol.V1;
using Doppel.Session.Agent;
using Doppel.Session.Env;
using Doppel.Session.Files;
using Doppel.Session.Incoming;
using Doppel.Session.Policy;
using Doppel.Session.Remote;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Doppel.Session.Sessions;

/// <summary>
/// One session with one agent, from the hello to the last relayed byte: it owns the agent
/// connection and the remote, and holds what the program is run with.
/// <code>
///   CLI ──config, transport──► StartAsync: hello ─► env ─► filter names ─► policy, DNS steering ─► GrpcRemote
///   CLI ◄── Environment, Policy, Remote, Hostname, Description ──┘         (dispose: remote, then connection)
/// </code>
/// Placing the agent (a local process, a pod) is the caller's: it hands over an
/// <see cref="IAgentTransport"/> that reaches it.
/// </summary>
public sealed class DoppelSession : IAsyncDisposable, IIncomingAgents
{
    private static readonly TimeSpan s_startCallTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_localLookupTimeout = TimeSpan.FromSeconds(15);

    private readonly AgentConnection _connection;
    private readonly GrpcRemote _remote;
    private readonly FileSync _files;
    private readonly IncomingReplicas? _incoming;
    private readonly SessionOptions _options;

    private DoppelSession(SessionOptions options, AgentConnection connection, GrpcRemote remote, FileSync files, IncomingReplicas? incoming, IReadOnlyDictionary<string, string> environment, IInterceptionPolicy policy, string description)
    {
        _options = options;
        _connection = connection;
        _incoming = incoming;
        _remote = remote;
        _files = files;
        Environment = environment;
        Policy = policy;
        Description = description;
    }

    /// <summary>The program's environment: local, the target's laid over it, env_file, override, unset.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; }

    /// <summary>What the program's calls do (<see cref="ConfigPolicy"/>).</summary>
    public IInterceptionPolicy Policy { get; }

    /// <summary>The pod side of the program's calls, served by the agent.</summary>
    public IRemote Remote => _remote;

    /// <summary>
    /// The pod's files for the program (cache tree, fetches, listings, write-back): what
    /// <c>InterceptionOptions.Files</c> takes. A write-back the pod refuses goes to
    /// <see cref="SessionOptions.ReportError"/>.
    /// </summary>
    public IFileSync Files => _files;

    /// <summary>
    /// Pod paths (sorted) whose latest content did not reach the pod, after the program's final
    /// flush (<see cref="FileSync.UnsentFiles"/>); empty when every write arrived.
    /// </summary>
    public IReadOnlyCollection<string> UnsentFiles => _files.UnsentFiles;

    /// <summary>The target's hostname the program sees; null when <c>feature.hostname</c> is off or the agent gave none.</summary>
    public string? Hostname => _remote.Hostname;

    /// <summary>What the agent serves, as the agent said in its hello.</summary>
    public TargetInfo Target => _connection.Hello.Target;

    /// <summary>
    /// What the agent handed this session, one line per target port (<c>steal :80: 12 requests, 0
    /// connections</c>), for the <c>-v</c> summary at exit; empty when nothing came.
    /// </summary>
    public IReadOnlyList<string> IncomingSummary => _incoming?.Counts.Lines() ?? [];

    /// <summary>One line for the person: <c>session: pod/x (pid 12, container 0123456789ab, hostname web-1)</c>.</summary>
    public string Description { get; }

    /// <summary>True when the session takes incoming traffic (<c>incoming.mode</c> steal or mirror, a target): <see cref="AddIncomingAgentAsync"/> then applies.</summary>
    public bool TakesIncoming => _incoming is not null;

    /// <summary>Whether the program has listened on a TCP port (so there is incoming traffic to take); false when <see cref="TakesIncoming"/> is.</summary>
    public bool IncomingListened => _incoming?.HasListened ?? false;

    /// <summary>
    /// Takes this session's incoming traffic also at the agent <paramref name="transport"/> reaches
    /// (issue 12 item 3: the agent beside another replica of the workload), under
    /// <paramref name="name"/> (the replica, as the progress lines name it: <c>pod bff-7d…-x2</c>): every port the app listens on now or later
    /// is subscribed there too, with the same mode and filter, and delivered to the same local app;
    /// counts are summed. One progress line: <c>incoming: also stealing from pod bff-7d…-x2 (N replicas)</c>.
    /// Env, files and outgoing stay with the session's own agent. Does nothing when
    /// <see cref="TakesIncoming"/> is false. Throws <see cref="AgentConnectionException"/> (one
    /// sentence) when the agent cannot be reached, <see cref="InvalidOperationException"/> when
    /// <paramref name="name"/> was added already.
    /// </summary>
    public Task AddIncomingAgentAsync(IAgentTransport transport, string name, CancellationToken cancellationToken) =>
        _incoming?.AddAsync(name, transport, _options.Config.Key ?? "doppel", _options.ClientVersion, cancellationToken) ?? Task.CompletedTask;

    /// <summary>
    /// Ends this session's subscriptions at the agent added as <paramref name="name"/> (its pod is
    /// gone or no longer ready) and closes that connection, waiting at most 5 s for the agent; one
    /// progress line: <c>incoming: NAME left (N replicas)</c>. False when no agent was added so.
    /// </summary>
    public Task<bool> RemoveIncomingAgentAsync(string name) =>
        _incoming is null ? Task.FromResult(false) : _incoming.RemoveAsync(name);

    /// <inheritdoc/>
    public void IncomingTargetGone() => _incoming?.FirstTargetGone();

    /// <summary>
    /// Connects to the agent through <paramref name="transport"/> and prepares the program's side.
    /// Throws <see cref="AgentConnectionException"/> (one sentence) when the agent cannot be reached
    /// or refuses the session, <see cref="SessionStartException"/> when a start-up call fails, and
    /// <see cref="OperationCanceledException"/> or <see cref="RpcException"/> when cancelled.
    /// </summary>
    public static async Task<DoppelSession> StartAsync(SessionOptions options, IAgentTransport transport, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(loggers);
        var config = options.Config;
        var target = config.Target ?? throw new ArgumentException("the configuration names no target", nameof(options));
        var logger = loggers.CreateLogger("doppel.session");

        var connection = await AgentConnection.ConnectAsync(transport, config.Key ?? "doppel", options.ClientVersion, cancellationToken).ConfigureAwait(false);
        try
        {
            SessionLog.Connected(logger, connection.Address, connection.Hello.AgentVersion, connection.Hello.Version);
            var targetless = target.Kind == TargetKind.Targetless;
            IReadOnlyDictionary<string, string> environment;
            IReadOnlyDictionary<string, IReadOnlySet<IPAddress>> names;
            try
            {
                var targetVariables = config.Feature.Env.Enabled && !targetless
                    ? await TargetEnvironmentAsync(connection, cancellationToken).ConfigureAwait(false)
                    : new Dictionary<string, string>();
                environment = SessionEnvironment.Build(config.Feature.Env, targetVariables, options.LocalEnvironment, options.EnvFile);
                names = await ResolveFilterNamesAsync(config, connection, options.Warn, logger, cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw new SessionStartException($"the agent failed while the session started ({e.StatusCode}: {e.Status.Detail})", e);
            }

            // Incoming traffic needs a target to take it from; an app's listeners in a targetless session stay local.
            var incomingLogger = loggers.CreateLogger("doppel.incoming");
            var sessionName = IncomingTraffic.SessionName(options.LocalEnvironment);
            var incoming = targetless || config.Feature.Network.Incoming.Mode == IncomingMode.Off
                ? null
                : new IncomingReplicas(
                    (agent, info, warn, error, counts, delivered, outage) => new IncomingTraffic(config.Feature.Network.Incoming, agent, sessionName, info, warn, error, incomingLogger, config.Agent.FlushConnections, counts, delivered, outage: outage),
                    connection,
                    config.Feature.Network.Incoming.Mode == IncomingMode.Steal ? "stealing" : "mirroring",
                    options.Info,
                    options.Warn,
                    options.ReportError,
                    incomingLogger);
            var hostname = config.Feature.Hostname && connection.Hello.Target.Hostname is { Length: > 0 } h ? h : null;
            var policy = new ConfigPolicy(
                config,
                options.WorkingDirectory,
                ExecutablePath(options.Program, environment, options.WorkingDirectory),
                environment.GetValueOrDefault("HOME"),
                targetless,
                names,
                incoming is null ? null : incoming.OnListening,
                options.ReportError,
                incoming is null ? null : incoming.First.OriginalClient,
                incoming is null ? null : incoming.First.DeliversTo,
                options.Warn);
            var steering = DnsSteering.From(config);
            foreach (var warning in steering.Warnings)
            {
                options.Warn(warning);
            }

            var remote = new GrpcRemote(connection, hostname, loggers.CreateLogger("doppel.remote"), new DnsRouting(steering, LocalResolver.Nameserver()));
            return new DoppelSession(options, connection, remote, new FileSync(remote, options.ReportError, logger: loggers.CreateLogger("doppel.files"), finalFlushStarting: options.FinalFlushStarting, recovered: options.ReportRecovered), incoming, environment, policy, Describe(connection.Hello.Target, target, options.TargetlessPlace));
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>The line <c>doppel exec</c> prints when other sessions use the same agent (<see cref="AgentStatus.OtherSessionsLineAsync"/>); null when none do.</summary>
    public Task<string?> OtherSessionsLineAsync(string targetPath, CancellationToken cancellationToken) =>
        AgentStatus.OtherSessionsLineAsync(_connection, targetPath, cancellationToken);

    /// <summary>
    /// Unsubscribes the incoming ports and ends their Serve calls, ends the write-backs under way and removes the file cache tree,
    /// ends the relays (awaiting their tasks), then closes the agent connection.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_incoming is not null)
        {
            await _incoming.DisposeAsync().ConfigureAwait(false);
        }

        await _files.DisposeAsync().ConfigureAwait(false);
        await _remote.DisposeAsync().ConfigureAwait(false);
        await _connection.SayEndingAsync().ConfigureAwait(false);
        _connection.Dispose();
    }

    private static async Task<Dictionary<string, string>> TargetEnvironmentAsync(AgentConnection connection, CancellationToken cancellationToken)
    {
        var response = await connection.Environment.GetEnvironmentAsync(new GetEnvironmentRequest(), deadline: DateTime.UtcNow + s_startCallTimeout, cancellationToken: cancellationToken).ConfigureAwait(false);
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
                SessionLog.FilterNameResolved(logger, filterName.Name, filterName.ResolvedLocally, addresses);
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
        var response = await connection.Dns.LookupAsync(new DnsLookupRequest { Name = name, Family = IpFamily.Unspecified }, deadline: DateTime.UtcNow + s_startCallTimeout, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.Addresses.Select(a => new IPAddress(a.Span)).ToHashSet();
    }

    /// <summary>Through doppel's own resolver (the developer's), bounded so a dead nameserver cannot hold the start.</summary>
    private static async Task<IReadOnlySet<IPAddress>> ResolveLocallyAsync(string name, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(s_localLookupTimeout);
        try
        {
            var addresses = await Dns.GetHostAddressesAsync(name, timeout.Token).ConfigureAwait(false);
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

    /// <summary>The program's absolute path, found as the launcher will find it (to keep it local); null when not found.</summary>
    private static string? ExecutablePath(string program, IReadOnlyDictionary<string, string> variables, string workingDirectory) =>
        ProgramResolver.Resolve(program, variables.GetValueOrDefault("PATH"), workingDirectory).Path is { } path ? Path.GetFullPath(path, workingDirectory) : null;

    internal static string Describe(TargetInfo info, TargetConfig target, string? targetlessPlace = null) => info.Targetless
        ? $"session: targetless{(targetlessPlace is not null ? " " + targetlessPlace : target.Namespace is { Length: > 0 } ns ? $" in network namespace {ns}" : string.Empty)}"
        : $"session: {target.Path} (pid {info.Pid}{(info.ContainerId.Length > 0 ? $", container {info.ContainerId[..Math.Min(12, info.ContainerId.Length)]}" : string.Empty)}, hostname {info.Hostname})";
}
