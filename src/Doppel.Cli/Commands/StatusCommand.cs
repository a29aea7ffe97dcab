using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Doppel.Cli.Running;
using Doppel.Config;
using Doppel.Config.Targets;
using Doppel.Kubernetes;
using Doppel.Kubernetes.Agents;
using Doppel.Kubernetes.PortForward;
using Doppel.Protocol.V1;
using Doppel.Session.Agent;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace Doppel.Cli.Commands;

/// <summary>
/// <c>doppel status [-t TARGET] [-n NS] [--local] [-o json] [-f FILE] [--context CTX]</c>: who is on
/// which agent. Cluster (default): the agent pods of the namespace (<see cref="AgentPods"/>), or
/// those serving <c>-t TARGET</c>, each asked through a port-forward with its token
/// (<c>AgentService.Status</c>). Local (<c>--local</c>, or a <c>pid/</c> or <c>container/</c>
/// target; root): the agents of <see cref="SharedAgentSlot.Root"/>. Text: per agent a line, then
/// per session <c>user@machine  mode port filter  since  requests</c> (a Spectre table on a
/// terminal, plain lines otherwise); JSON: the shape in docs/cli.md, "doppel status".
/// Exit codes: 0 (also when there are no agents: one line says so); 2 for a bad flag, kubeconfig or
/// context; 69 when the cluster cannot be reached or refuses a call (the message names the verb,
/// resource and the <c>kubectl auth can-i</c> line), or when an agent could not be asked (the
/// others are still shown); 77 for local agents without root.
/// </summary>
internal sealed class StatusCommand : Command
{
    private static readonly Option<string> s_target = new("--target", "-t") { Description = "Only the agents serving this target (deployment/NAME, pod/NAME, ..., pid/PID, container/ID)." };

    private static readonly Option<string> s_namespace = new("--namespace", "-n") { Description = "The namespace of the agents (default: target.namespace, then the context's namespace, then default)." };

    private static readonly Option<bool> s_local = new("--local") { Description = "The agents of local targets on this machine (needs root)." };

    private static readonly Option<string> s_output = new("--output", "-o")
    {
        Description = "Output format: text or json.",
        DefaultValueFactory = _ => "text",
    };

    private static readonly JsonSerializerOptions s_indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly CliEnvironment _environment;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;

    // The namespace the cluster listing used (for the "no agents" line).
    private string? _namespaceUsed;

    static StatusCommand()
    {
        // One sentence naming the accepted values (OptionChoices), not System.CommandLine's indented list.
        OptionChoices.Only(s_output, "text", "json");
    }

    public StatusCommand(CliEnvironment environment, ILoggerFactory loggers)
        : base("status", "Show the doppel agents of a namespace or target and, for each, its sessions: who, which ports in which mode with which filter, since when, and the requests routed to them.")
    {
        _environment = environment;
        _loggers = loggers;
        _logger = loggers.CreateLogger("doppel.status");
        Options.Add(s_target);
        Options.Add(s_namespace);
        Options.Add(s_local);
        Options.Add(s_output);
        Options.Add(ExecCommand.ConfigFile);
        Options.Add(ExecCommand.Context);
        Options.Add(ExecCommand.AcceptInvalidCertificates);
        SetAction(ExecuteAsync);
    }

    private async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var json = parseResult.GetValue(s_output) == "json";
        TargetConfig? target = null;
        if (parseResult.GetValue(s_target) is { } text)
        {
            target = TargetParser.TryParse(text, parseResult.GetValue(s_namespace), out var error);
            if (target is null)
            {
                _environment.Console.WriteError(error ?? $"'{text}' is not a target.");
                return ExitCodes.ConfigError;
            }
        }

        var local = parseResult.GetValue(s_local) || target?.Kind is TargetKind.Pid or TargetKind.Container;
        if (target?.Kind == TargetKind.Targetless)
        {
            _environment.Console.WriteError("A targetless session has an agent of its own, shared with no one; name a pod, workload, pid/ or container/ target, or none.");
            return ExitCodes.ConfigError;
        }

        var (agents, exit) = local
            ? await LocalAsync(target, cancellationToken).ConfigureAwait(false)
            : await ClusterAsync(parseResult, target, cancellationToken).ConfigureAwait(false);
        if (agents is null)
        {
            return exit;
        }

        if (json)
        {
            _environment.Console.Out.WriteLine(ToJson(agents).ToJsonString(s_indented));
        }
        else if (agents.Count == 0)
        {
            _environment.Console.WriteInfo(local ? "No local doppel agents run on this machine." : $"No doppel agents run in namespace {_namespaceUsed}{(target is null ? "" : $" for {target.Path}")}.");
        }
        else
        {
            WriteText(agents);
        }

        foreach (var failed in agents.Where(a => a.Error is not null))
        {
            _environment.Console.WriteError($"cannot ask the agent {failed.Name}: {failed.Error}");
        }

        return agents.Any(a => a.Error is not null) ? ExitCodes.Unavailable : ExitCodes.Success;
    }

    /// <summary>The local agents: the served sockets of <see cref="SharedAgentSlot.Root"/> (of <paramref name="target"/>'s slot only, when given).</summary>
    private async Task<(List<AgentReport>? Agents, int Exit)> LocalAsync(TargetConfig? target, CancellationToken cancellationToken)
    {
        if (!Environment.IsPrivilegedProcess)
        {
            _environment.Console.WriteError($"Listing local agents needs root: their sockets in {SharedAgentSlot.Root} are root's; run doppel status --local with sudo.");
            return (null, ExitCodes.NoPermission);
        }

        var reports = new List<AgentReport>();
        if (!Directory.Exists(SharedAgentSlot.Root))
        {
            return (reports, ExitCodes.Success);
        }

        var only = target is null ? null : SharedAgentSlot.Key(target);
        foreach (var directory in Directory.EnumerateDirectories(SharedAgentSlot.Root).Order(StringComparer.Ordinal))
        {
            var key = Path.GetFileName(directory);
            var socket = Path.Combine(directory, "agent.sock");
            if ((only is not null && key != only) || !SharedAgentSlot.IsServed(socket))
            {
                continue; // no agent there (a slot left for a later session, or being removed)
            }

            var report = new AgentReport(key, null, "unix:" + socket, null);
            reports.Add(await AskAsync(report, AgentEndpoint.Unix(socket), cancellationToken).ConfigureAwait(false));
        }

        return (reports, ExitCodes.Success);
    }

    private async Task<(List<AgentReport>? Agents, int Exit)> ClusterAsync(ParseResult parseResult, TargetConfig? target, CancellationToken cancellationToken)
    {
        var config = ConfigCommandSupport.LoadForCluster(_environment, parseResult, _logger);
        KubeConnection connection;
        try
        {
            connection = KubeConnection.Open(new KubeConnectionOptions
            {
                Kubeconfig = config.Kubeconfig,
                Context = config.KubeContext,
                Namespace = parseResult.GetValue(s_namespace) ?? target?.Namespace ?? config.Agent.Namespace ?? config.Target?.Namespace,
                AcceptInvalidCertificates = config.AcceptInvalidCertificates,
                Variables = _environment.Variables,
            });
        }
        catch (KubeException e)
        {
            _environment.Console.WriteError(e.Message);
            return (null, ExitCodes.ConfigError);
        }

        using (connection)
        {
            _namespaceUsed = connection.Namespace;
            try
            {
                var pods = await AgentPods.ListAsync(connection, connection.Namespace, cancellationToken).ConfigureAwait(false);
                if (target is not null)
                {
                    pods = await AgentPods.OfTargetAsync(connection, pods, target, cancellationToken).ConfigureAwait(false);
                }

                var reports = new List<AgentReport>();
                var live = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal); // namespace → the UIDs of its pods
                foreach (var pod in pods)
                {
                    var gone = pod.TargetPodUid is { } uid && !(await PodUidsAsync(connection, pod.Namespace, live, cancellationToken).ConfigureAwait(false)).Contains(uid);
                    var report = new AgentReport(pod.Name, pod.Namespace, $"pod/{pod.Namespace}/{pod.Name}", pod.TargetPath ?? pod.Target, TargetGone: gone, TargetPod: pod.Target?.Split('/') is [_, var name, ..] ? name : null);
                    if (pod.Phase != "Running" || pod.Port == 0)
                    {
                        reports.Add(report with { Error = pod.Port == 0 ? "its pod names no --listen port." : $"its pod is {pod.Phase}." });
                        continue;
                    }

                    var token = await AgentPods.TokenAsync(connection, pod, cancellationToken).ConfigureAwait(false);
                    await using var forward = new PodPortForward(connection, pod.Namespace, pod.Name, pod.Port, _loggers.CreateLogger("doppel.portforward"));
                    reports.Add(await AskAsync(report, new ForwardedAgent(forward, token), cancellationToken).ConfigureAwait(false));
                }

                return (reports, ExitCodes.Success);
            }
            catch (KubeException e)
            {
                _environment.Console.WriteError(e.Message);
                return (null, ExitCodes.Unavailable);
            }
        }
    }

    private static async Task<AgentReport> AskAsync(AgentReport report, IAgentTransport transport, CancellationToken cancellationToken)
    {
        try
        {
            return report with { Status = await AgentStatus.QueryAsync(transport, cancellationToken).ConfigureAwait(false) };
        }
        catch (AgentConnectionException e)
        {
            return report with { Error = e.Message };
        }
    }

    private void WriteText(IReadOnlyList<AgentReport> agents)
    {
        if (_environment.IsInteractive && !Console.IsOutputRedirected)
        {
            WriteTable(agents);
            return;
        }

        var output = _environment.Console.Out;
        foreach (var agent in agents)
        {
            output.WriteLine(Heading(agent));
            foreach (var session in agent.Status?.Sessions ?? [])
            {
                var subscriptions = session.Subscriptions.Count == 0 ? "no ports" : string.Join("; ", session.Subscriptions.Select(SessionStatusText.Subscription));
                output.WriteLine($"  {SessionStatusText.Who(session)}  {subscriptions}  since {Time(session.ConnectedUnixMs)}  {Routed(session)}");
            }
        }
    }

    private void WriteTable(IReadOnlyList<AgentReport> agents)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(_environment.Console.Out) });

        // The terminal's size from the kernel: Spectre would ask .NET's console, and that leaves the
        // terminal in application cursor-key mode (Console/StandardWriters).
        var (columns, rows) = Doppel.Linux.Processes.TerminalSize.Of(1) ?? (80, 24);
        console.Profile.Width = columns;
        console.Profile.Height = rows;
        foreach (var agent in agents)
        {
            console.MarkupLine(Markup.Escape(Heading(agent)));
            if (agent.Status is not { Sessions.Count: > 0 } status)
            {
                continue;
            }

            var table = new Table().AddColumns("session", "ports", "since", "routed");
            foreach (var session in status.Sessions)
            {
                table.AddRow(
                    Markup.Escape(SessionStatusText.Who(session)),
                    Markup.Escape(session.Subscriptions.Count == 0 ? "-" : string.Join("\n", session.Subscriptions.Select(SessionStatusText.Subscription))),
                    Markup.Escape(Time(session.ConnectedUnixMs)),
                    Markup.Escape(Routed(session)));
            }

            console.Write(table);
        }
    }

    /// <summary>The UIDs of the pods of <paramref name="ns"/>, listed once per namespace (<paramref name="known"/>).</summary>
    private static async Task<HashSet<string>> PodUidsAsync(KubeConnection connection, string ns, Dictionary<string, HashSet<string>> known, CancellationToken cancellationToken)
    {
        if (!known.TryGetValue(ns, out var uids))
        {
            uids = await AgentPods.LivePodUidsAsync(connection, ns, cancellationToken).ConfigureAwait(false);
            known[ns] = uids;
        }

        return uids;
    }

    /// <summary>
    /// <c>doppel-agent-x7k2p (deployment/bff, pod bff-7d9c-x2): agent 1.0.0 since 2026-11-30 22:10:05Z, 2 sessions</c>:
    /// the pod (its hostname, as the agent reports it) tells the agents of one workload's replicas apart.
    /// </summary>
    private static string Heading(AgentReport agent)
    {
        var pod = agent.Status?.Target.Hostname is { Length: > 0 } hostname ? $"pod {hostname}" : agent.TargetPod is { } podName ? $"pod {podName}" : null;
        var gone = agent.TargetGone ? "its target pod is gone" : null;
        var about = string.Join(", ", new[] { agent.Target, pod, gone }.OfType<string>());
        var name = about.Length == 0 ? agent.Name : $"{agent.Name} ({about})";
        if (agent.Status is not { } status)
        {
            return $"{name}: not answering";
        }

        var sessions = status.Sessions.Count == 1 ? "1 session" : $"{status.Sessions.Count.ToString(CultureInfo.InvariantCulture)} sessions";
        return $"{name}: agent {status.AgentVersion} since {Time(status.StartedUnixMs)}, {sessions}";
    }

    private static string Routed(SessionStatus session) =>
        string.Create(CultureInfo.InvariantCulture, $"{session.Requests} request{(session.Requests == 1 ? "" : "s")}, {session.Connections} connection{(session.Connections == 1 ? "" : "s")}");

    private static string Time(long unixMs) =>
        DateTimeOffset.FromUnixTimeMilliseconds(unixMs).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Iso(long unixMs) =>
        DateTimeOffset.FromUnixTimeMilliseconds(unixMs).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>The JSON of docs/cli.md, "doppel status".</summary>
    internal static JsonObject ToJson(IReadOnlyList<AgentReport> agents) => new()
    {
        ["agents"] = new JsonArray([.. agents.Select(a => (JsonNode?)new JsonObject
        {
            ["name"] = a.Name,
            ["namespace"] = a.Namespace,
            ["address"] = a.Address,
            ["target"] = a.Target,
            ["target_pod_gone"] = a.TargetGone,
            ["agent_version"] = a.Status?.AgentVersion,
            ["pid"] = a.Status?.Target.Pid,
            ["hostname"] = a.Status?.Target.Hostname is { Length: > 0 } hostname ? hostname : null,
            ["started"] = a.Status is { } s ? Iso(s.StartedUnixMs) : null,
            ["error"] = a.Error,
            ["sessions"] = new JsonArray([.. (a.Status?.Sessions ?? []).Select(session => (JsonNode?)new JsonObject
            {
                ["id"] = session.Id,
                // null where the agent does not know (a session with no Hello there): not "" and 0.
                ["user"] = session.User.Length == 0 ? null : session.User,
                ["machine"] = session.Machine.Length == 0 ? null : session.Machine,
                ["pid"] = session.Pid == 0 ? null : session.Pid,
                ["client_version"] = session.ClientVersion.Length == 0 ? null : session.ClientVersion,
                ["since"] = Iso(session.ConnectedUnixMs),
                ["subscriptions"] = new JsonArray([.. session.Subscriptions.Select(p => (JsonNode?)new JsonObject
                {
                    ["port"] = p.Port,
                    ["mode"] = SessionStatusText.Mode(p.Mode),
                    ["filter"] = p.Filter.Length == 0 ? null : p.Filter,
                })]),
                ["requests"] = session.Requests,
                ["connections"] = session.Connections,
            })]),
        })]),
    };

    /// <summary>One agent asked: <see cref="Status"/> its answer, or <see cref="Error"/> why there is none.</summary>
    /// <param name="TargetGone">The pod the agent serves is gone (deleted, replaced by a rollout) while the agent still runs for its sessions.</param>
    /// <param name="TargetPod">The name of the pod the agent was placed for (its target annotation), shown when the agent cannot say its host name (the pod gone).</param>
    internal sealed record AgentReport(string Name, string? Namespace, string Address, string? Target, StatusResponse? Status = null, string? Error = null, bool TargetGone = false, string? TargetPod = null);

    /// <summary>An agent pod reached through a port-forward, with the token of its Secret (null: it requires none).</summary>
    private sealed class ForwardedAgent(PodPortForward forward, string? token) : IAgentTransport
    {
        public string Address => forward.Address;

        public string? Token => token;

        public ValueTask<Stream> ConnectAsync(CancellationToken cancellationToken) => forward.ConnectAsync(cancellationToken);
    }
}
