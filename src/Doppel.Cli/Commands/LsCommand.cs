using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Doppel.Config;
using Doppel.Kubernetes;
using Doppel.Kubernetes.Targets;
using Microsoft.Extensions.Logging;

namespace Doppel.Cli.Commands;

/// <summary>
/// <c>doppel ls [-n NS] [-o json] [-t TYPE]… [--rich-output] [-f FILE] [--context CTX]</c>: the targets of a
/// namespace (<see cref="TargetLister"/>), by kind, with their containers. Text (default): one
/// line per target, <c>KIND/NAME  CONTAINERS</c>. JSON as mirrord's <c>ls -o json</c> prints it
/// (mirrord's cli/src/list.rs), for IDE extensions: a list of target paths
/// <code>["deployment/web","pod/web-7d9/container/app", ...]</code>
/// or, with <c>--rich-output</c> or MIRRORD_LS_RICH_OUTPUT=true,
/// <code>{"targets":[{"path":"deployment/web","available":true}, ...],"current_namespace":"NS","namespaces":["default", ...]}</code>
/// <c>-t/--target-type</c> (repeatable; else MIRRORD_LS_TARGET_TYPES, a JSON list such as
/// <c>["deployment","pod"]</c>) keeps only those kinds, as mirrord's <c>ls</c> does.
/// Exit codes: 0; 2 for a bad kubeconfig or context (and bad flags or files); 69 when the cluster
/// cannot be reached or refuses the listing (the message names the verb, resource and namespace).
/// </summary>
internal sealed class LsCommand : Command
{
    private static readonly Option<string> s_namespace = new("--namespace", "-n") { Description = "The namespace to list (default: target.namespace, then the context's namespace, then default)." };

    private static readonly Option<string> s_output = new("--output", "-o")
    {
        Description = "Output format: text (default) or json (mirrord's ls JSON).",
        DefaultValueFactory = _ => "text",
    };

    /// <summary>The kinds <c>-t</c> takes: mirrord's TargetType names that name listable targets.</summary>
    private static readonly string[] s_kinds = ["pod", "deployment", "rollout", "job", "cronjob", "statefulset", "service", "replicaset"];

    private static readonly Option<string[]> s_targetTypes = new("--target-type", "-t")
    {
        Description = "Only targets of this kind (pod, deployment, rollout, job, cronjob, statefulset, service, replicaset); repeat for several (default: MIRRORD_LS_TARGET_TYPES, a JSON list, else all).",
        Arity = ArgumentArity.OneOrMore,
    };

    private static readonly Option<bool> s_rich = new("--rich-output")
    {
        Description = "With -o json: mirrord's rich form, {\"targets\": [{\"path\", \"available\"}], \"current_namespace\", \"namespaces\"} (also MIRRORD_LS_RICH_OUTPUT=true).",
    };

    private static readonly JsonSerializerOptions s_compact = new() { WriteIndented = false, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly CliEnvironment _environment;
    private readonly ILogger _logger;

    static LsCommand()
    {
        // One sentence naming the accepted values (OptionChoices), not System.CommandLine's indented list.
        OptionChoices.Only(s_output, "text", "json");
        OptionChoices.Only(s_targetTypes, s_kinds);
    }

    public LsCommand(CliEnvironment environment, ILoggerFactory loggers)
        : base("ls", "List the targets of a namespace (deployments, rollouts, statefulsets, cronjobs, jobs, services, replicasets, ready pods) with their containers.")
    {
        _environment = environment;
        _logger = loggers.CreateLogger("doppel.ls");
        Options.Add(s_namespace);
        Options.Add(s_output);
        Options.Add(s_targetTypes);
        Options.Add(s_rich);
        Options.Add(ExecCommand.ConfigFile);
        Options.Add(ExecCommand.Context);
        Options.Add(ExecCommand.AcceptInvalidCertificates);
        SetAction(ExecuteAsync);
    }

    private async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var config = ConfigCommandSupport.LoadForCluster(_environment, parseResult, _logger);
        var json = parseResult.GetValue(s_output) == "json";
        var rich = parseResult.GetValue(s_rich) || IsTrue(_environment.Variables("MIRRORD_LS_RICH_OUTPUT"));
        if (!TryTargetTypes(parseResult.GetValue(s_targetTypes), _environment.Variables("MIRRORD_LS_TARGET_TYPES"), out var kinds, out var kindsError))
        {
            _environment.Console.WriteError(kindsError);
            return ExitCodes.ConfigError;
        }

        KubeConnection connection;
        try
        {
            connection = KubeConnection.Open(new KubeConnectionOptions
            {
                Kubeconfig = config.Kubeconfig,
                Context = config.KubeContext,
                Namespace = parseResult.GetValue(s_namespace) ?? config.Target?.Namespace,
                AcceptInvalidCertificates = config.AcceptInvalidCertificates,
                Variables = _environment.Variables,
            });
        }
        catch (KubeException e)
        {
            _environment.Console.WriteError(e.Message);
            return ExitCodes.ConfigError;
        }

        using (connection)
        {
            try
            {
                var lister = new TargetLister(connection);
                var targets = (await lister.ListAsync(connection.Namespace, cancellationToken).ConfigureAwait(false))
                    .Where(t => kinds is null || kinds.Contains(t.Kind))
                    .ToList();
                if (!json)
                {
                    WriteText(connection.Namespace, targets);
                }
                else if (!rich)
                {
                    var paths = new JsonArray(targets.SelectMany(t => t.Paths).Select(p => (JsonNode?)JsonValue.Create(p)).ToArray());
                    _environment.Console.Out.WriteLine(paths.ToJsonString(s_compact));
                }
                else
                {
                    var namespaces = await lister.NamespacesAsync(cancellationToken).ConfigureAwait(false);
                    var result = new JsonObject
                    {
                        ["targets"] = new JsonArray(targets.SelectMany(t => t.Paths)
                            .Select(p => (JsonNode?)new JsonObject { ["path"] = p, ["available"] = true }).ToArray()),
                        ["current_namespace"] = connection.Namespace,
                        ["namespaces"] = new JsonArray(namespaces.Select(n => (JsonNode?)JsonValue.Create(n)).ToArray()),
                    };
                    _environment.Console.Out.WriteLine(result.ToJsonString(s_compact));
                }

                return ExitCodes.Success;
            }
            catch (KubeException e)
            {
                _environment.Console.WriteError(e.Message);
                return ExitCodes.Unavailable;
            }
        }
    }

    private void WriteText(string ns, IReadOnlyList<ListedTarget> targets)
    {
        if (targets.Count == 0)
        {
            _environment.Console.WriteInfo($"Namespace {ns} has no targets.");
            return;
        }

        var width = targets.Max(t => t.Kind.Length + 1 + t.Name.Length);
        foreach (var target in targets)
        {
            var path = $"{target.Kind}/{target.Name}";
            var containers = target.Containers.Count == 0 ? "" : string.Join(", ", target.Containers);
            _environment.Console.Out.WriteLine(containers.Length == 0 ? path : $"{path.PadRight(width)}  {containers}");
        }
    }

    /// <summary>
    /// The kinds to keep: <paramref name="flags"/> (-t), else <paramref name="variable"/>
    /// (MIRRORD_LS_TARGET_TYPES, a JSON list of kinds, as mirrord reads it), else null (all).
    /// False with one sentence when the variable is not such a list.
    /// </summary>
    internal static bool TryTargetTypes(string[]? flags, string? variable, out HashSet<string>? kinds, out string error)
    {
        error = string.Empty;
        kinds = null;
        if (flags is { Length: > 0 })
        {
            kinds = new HashSet<string>(flags, StringComparer.Ordinal);
            return true;
        }

        if (string.IsNullOrWhiteSpace(variable))
        {
            return true;
        }

        try
        {
            if (JsonNode.Parse(variable) is JsonArray list && list.All(k => k is JsonValue v && v.TryGetValue(out string? kind) && s_kinds.Contains(kind)))
            {
                kinds = list.Count == 0 ? null : new HashSet<string>(list.Select(k => k!.GetValue<string>()), StringComparer.Ordinal);
                return true;
            }
        }
        catch (JsonException)
        {
            // told below
        }

        error = $"MIRRORD_LS_TARGET_TYPES must be a JSON list of target kinds ({string.Join(", ", s_kinds)}), e.g. [\"deployment\",\"pod\"]; it is '{variable}'.";
        return false;
    }

    private static bool IsTrue(string? value) => value is not null && (value == "1" || value.Equals("true", StringComparison.OrdinalIgnoreCase));
}
