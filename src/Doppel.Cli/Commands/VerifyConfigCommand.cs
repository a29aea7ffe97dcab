using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Doppel.Config;
using Doppel.Config.Output;
using Microsoft.Extensions.Logging;

namespace Doppel.Cli.Commands;

/// <summary>
/// <c>doppel verify-config [--ide] PATH</c>: loads the file as <c>exec</c> would (template,
/// environment overrides, validation) and prints the resolved configuration as JSON.
/// </summary>
internal sealed class VerifyConfigCommand : Command
{
    private static readonly Option<bool> s_ide = new("--ide")
    {
        Description = "Print one machine-readable JSON result: {\"type\": \"Success\"|\"Fail\", \"config\"|\"error\", \"warnings\"}.",
    };

    private static readonly Argument<string> s_path = new("PATH")
    {
        Description = "The configuration file (.json, .jsonc, .toml, .yaml, .yml).",
    };

    private static readonly JsonSerializerOptions s_compact = new() { WriteIndented = false, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly CliEnvironment _environment;
    private readonly ILogger _logger;

    public VerifyConfigCommand(CliEnvironment environment, ILoggerFactory loggers)
        : base("verify-config", "Check a configuration file and print it fully resolved, as JSON.")
    {
        _environment = environment;
        _logger = loggers.CreateLogger("doppel.config");
        Options.Add(s_ide);
        Arguments.Add(s_path);
        SetAction(Execute);
    }

    private int Execute(ParseResult parseResult)
    {
        var path = parseResult.GetValue(s_path)!;
        if (!parseResult.GetValue(s_ide))
        {
            var loaded = ConfigCommandSupport.Load(_environment, path, [], _logger);
            _environment.Console.Out.WriteLine(ConfigJson.Serialize(loaded.Config));
            return ExitCodes.Success;
        }

        var result = new JsonObject();
        int exitCode;
        try
        {
            var loaded = ConfigCommandSupport.Load(_environment, path, [], _logger, printWarnings: false, targetChosenLater: true);
            result["type"] = "Success";
            result["config"] = ConfigJson.ToNode(loaded.Config);
            result["warnings"] = Strings(loaded.Warnings);
            exitCode = ExitCodes.Success;
        }
        catch (ConfigException e)
        {
            result["type"] = "Fail";
            result["error"] = e.Message;
            result["errors"] = Strings(e.Errors);
            result["warnings"] = new JsonArray();
            exitCode = ExitCodes.ConfigError;
        }

        _environment.Console.Out.WriteLine(result.ToJsonString(s_compact));
        return exitCode;
    }

    private static JsonArray Strings(IEnumerable<ConfigError> errors) =>
        new(errors.Select(e => (JsonNode?)JsonValue.Create(e.ToString())).ToArray());
}
