using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Doppel.Config;
using Doppel.Config.Output;
using Doppel.Session.Policy;
using Microsoft.Extensions.Logging;

namespace Doppel.Cli.Commands;

/// <summary>
/// <c>doppel verify-config [--ide] [--resolved] PATH</c>: loads the file as <c>exec</c> would
/// (template, environment overrides, validation) and prints mirrord's <c>verify-config</c> answer,
/// so mirrord's IDE extensions can call doppel:
/// <code>
/// {"type":"Success","config":{"path":TARGET,"namespace":NS},"warnings":[...],"compatible_target_types":[...],"resolved_config":{...}}
/// {"type":"Fail","errors":[...]}
/// </code>
/// (mirrord's cli/src/verify_config.rs: <c>VerifiedConfig</c>, tagged by <c>type</c>; TARGET is
/// null, <c>"targetless"</c> or the target object such as <c>{"deployment":"x","container":null}</c>;
/// <c>resolved_config</c> only with <c>--resolved</c>). With <c>--ide</c> the answer is one line
/// and the exit code is 0 for Fail too, as mirrord's (the IDE reads <c>type</c>); without it the
/// JSON is indented, warnings also go to stderr, and a Fail is doppel's error lines on stderr with
/// exit code 2.
/// </summary>
internal sealed class VerifyConfigCommand : Command
{
    /// <summary>mirrord's <c>TargetType::all()</c> (lowercase names); none is ruled out, as doppel has no copy_target.</summary>
    private static readonly string[] s_targetTypes = ["targetless", "pod", "deployment", "rollout", "job", "cronjob", "statefulset", "service", "replicaset"];

    private static readonly Option<bool> s_ide = new("--ide")
    {
        Description = "For IDE extensions: print mirrord's answer as one JSON line, {\"type\": \"Success\"|\"Fail\", ...}, and exit 0 either way.",
    };

    private static readonly Option<bool> s_resolved = new("--resolved")
    {
        Description = "Add the fully resolved configuration (every default filled in) as resolved_config.",
    };

    private static readonly Argument<string> s_path = new("PATH")
    {
        Description = "The configuration file (.json, .jsonc, .toml, .yaml, .yml).",
    };

    private static readonly JsonSerializerOptions s_compact = new() { WriteIndented = false, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonSerializerOptions s_indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly CliEnvironment _environment;
    private readonly ILogger _logger;

    public VerifyConfigCommand(CliEnvironment environment, ILoggerFactory loggers)
        : base("verify-config", "Check a configuration file and print mirrord's verify-config answer as JSON (--resolved: with the fully resolved configuration).")
    {
        _environment = environment;
        _logger = loggers.CreateLogger("doppel.config");
        Options.Add(s_ide);
        Options.Add(s_resolved);
        Arguments.Add(s_path);
        SetAction(Execute);
    }

    private int Execute(ParseResult parseResult)
    {
        var path = parseResult.GetValue(s_path)!;
        var ide = parseResult.GetValue(s_ide);
        var resolved = parseResult.GetValue(s_resolved);
        JsonObject result;
        if (!ide)
        {
            // Errors surface as a ConfigException: doppel's error lines and exit code 2.
            var loaded = ConfigCommandSupport.Load(_environment, path, [], _logger);
            var filterWarnings = DnsSteering.From(loaded.Config).Warnings;
            foreach (var warning in filterWarnings)
            {
                _environment.Console.WriteWarning(warning);
            }

            result = Success(loaded, filterWarnings, resolved);
            _environment.Console.Out.WriteLine(result.ToJsonString(s_indented));
            return ExitCodes.Success;
        }

        try
        {
            var loaded = ConfigCommandSupport.Load(_environment, path, [], _logger, printWarnings: false, targetChosenLater: true);
            result = Success(loaded, DnsSteering.From(loaded.Config).Warnings, resolved);
        }
        catch (ConfigException e)
        {
            result = new JsonObject
            {
                ["type"] = "Fail",
                ["errors"] = new JsonArray(e.Errors.Select(error => (JsonNode?)JsonValue.Create(error.ToString())).ToArray()),
            };
        }

        _environment.Console.Out.WriteLine(result.ToJsonString(s_compact));
        return ExitCodes.Success;
    }

    private static JsonObject Success(LoadedConfig loaded, IReadOnlyList<string> filterWarnings, bool resolved)
    {
        var config = loaded.Config;
        var result = new JsonObject
        {
            ["type"] = "Success",
            ["config"] = new JsonObject
            {
                ["path"] = config.Target is { } target ? TargetPath(target) : null,
                ["namespace"] = config.Target?.Namespace,
            },
            ["warnings"] = new JsonArray(loaded.Warnings.Select(w => w.ToString()).Concat(filterWarnings).Select(w => (JsonNode?)JsonValue.Create(w)).ToArray()),
            ["compatible_target_types"] = new JsonArray(s_targetTypes.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray()),
        };
        if (resolved)
        {
            result["resolved_config"] = ConfigJson.ToNode(config);
        }

        return result;
    }

    /// <summary>
    /// mirrord's <c>VerifiedTarget</c>: <c>"targetless"</c>, or <c>{"KIND": NAME, "container": C}</c>
    /// with KIND in mirrord's field names (<c>cron_job</c>, <c>stateful_set</c>, <c>replica_set</c>),
    /// <c>{"labels": {...}}</c> for a label target; doppel's local targets as <c>{"pid": "N"}</c>
    /// and <c>{"container_id": "ID"}</c>.
    /// </summary>
    private static JsonNode TargetPath(TargetConfig target)
    {
        switch (target.Kind)
        {
            case TargetKind.Targetless:
                return JsonValue.Create("targetless");
            case TargetKind.Pid:
                return new JsonObject { ["pid"] = target.Name };
            case TargetKind.Container:
                return new JsonObject { ["container_id"] = target.Name };
            case TargetKind.Label:
                var labels = new JsonObject();
                foreach (var (key, value) in target.Labels ?? new Dictionary<string, string>())
                {
                    labels[key] = value;
                }

                var label = new JsonObject { ["labels"] = labels };
                if (target.Container is { } labelContainer)
                {
                    label["container"] = labelContainer;
                }

                return label;
            default:
                var field = target.Kind switch
                {
                    TargetKind.CronJob => "cron_job",
                    TargetKind.StatefulSet => "stateful_set",
                    TargetKind.ReplicaSet => "replica_set",
                    var kind => kind.ToString().ToLowerInvariant(),
                };
                return new JsonObject { [field] = target.Name, ["container"] = target.Container };
        }
    }
}
