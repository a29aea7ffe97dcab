using System.CommandLine;
using System.Text.Json.Nodes;
using Doppel.Cli.Running;
using Doppel.Config;
using Doppel.Config.Binding;
using Doppel.Config.Targets;
using Doppel.Interception;
using Doppel.Interception.Remote;
using Doppel.Session.Agent;
using Doppel.Session.Env;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Doppel.Cli.Commands;

/// <summary>
/// <c>doppel exec [flags] [--] BINARY [ARGS...]</c>: mirrord's flags, merged into the same resolved
/// configuration as the file and the environment (flags win).
/// </summary>
internal sealed class ExecCommand : Command
{
    public static readonly Option<string> Target = new("--target", "-t")
    {
        Description = "Target: pod/NAME, deployment/NAME, ... (optionally /container/NAME), label/K=V, pid/PID, container/ID or targetless.",
    };

    public static readonly Option<string> TargetNamespace = new("--target-namespace", "-n") { Description = "Namespace of the target." };

    /// <summary>mirrord's <c>-f</c> without a value (clap's default_missing_value).</summary>
    public const string DefaultConfigFile = "./.mirrord/mirrord.json";

    // PATH_MAX less its terminating NUL: execve fails with ENAMETOOLONG beyond it.
    private const int MaxPathBytes = 4095;

    public static readonly Option<string> ConfigFile = new("--config-file", "-f")
    {
        Description = "Configuration file (.json, .toml, .yaml); -f alone means ./.mirrord/mirrord.json; default: MIRRORD_CONFIG_FILE/DOPPEL_CONFIG_FILE, then ./.mirrord/mirrord.json.",
        Arity = ArgumentArity.ZeroOrOne,
        CustomParser = result => result.Tokens.Count == 0 ? DefaultConfigFile : result.Tokens[0].Value,
    };

    public static readonly Option<string> Context = new("--context") { Description = "Kube context to use." };

    public static readonly Option<string> EnvFile = new("--env-file") { Description = "A .env file whose variables the process gets too." };

    public static readonly Option<string> Key = new("--key", "-k") { Description = "Session key: sessions with the same key share one agent." };

    public static readonly Option<string> FsMode = new("--fs-mode")
    {
        Description = "File system mode: read, write, local or local-with-overrides (also localwithoverrides).",
    };

    public static readonly Option<string[]> EnvInclude = new("--override-env-vars-include", "-s")
    {
        Description = "Import only these variables from the target (';'-separated, wildcards * and ?).",
        AllowMultipleArgumentsPerToken = false,
    };

    public static readonly Option<string[]> EnvExclude = new("--override-env-vars-exclude", "-x")
    {
        Description = "Do not import these variables (';'-separated, wildcards * and ?).",
        AllowMultipleArgumentsPerToken = false,
    };

    public static readonly Option<bool> Steal = new("--steal") { Description = "Steal incoming traffic instead of mirroring it." };

    public static readonly Option<bool> NoOutgoing = new("--no-outgoing") { Description = "Keep all outgoing traffic local." };

    public static readonly Option<bool> NoTcpOutgoing = new("--no-tcp-outgoing") { Description = "Keep outgoing TCP local." };

    public static readonly Option<bool> NoUdpOutgoing = new("--no-udp-outgoing") { Description = "Keep outgoing UDP local." };

    public static readonly Option<bool> NoRemoteDns = new("--no-remote-dns") { Description = "Resolve names locally." };

    public static readonly Option<string[]> SkipProcesses = new("--skip-processes")
    {
        Description = "Processes (executable names, ';'-separated) that run without interception.",
        AllowMultipleArgumentsPerToken = false,
    };

    public static readonly Option<bool> AcceptInvalidCertificates = new("--accept-invalid-certificates", "-c")
    {
        Description = "Accept the API server's certificate even if it is invalid.",
    };

    public static readonly Option<string> AgentNamespace = new("--agent-namespace", "-a") { Description = "Namespace to run the agent in." };

    public static readonly Option<string> AgentLogLevel = new("--agent-log-level", "-l") { Description = "Agent log level (trace, debug, info, warn, error)." };

    public static readonly Option<string> AgentImage = new("--agent-image", "-i") { Description = "Agent image (NAME[:TAG])." };

    public static readonly Option<int?> AgentTtl = Seconds("--agent-ttl", "Seconds the agent stays after its last session.");

    public static readonly Option<int?> AgentStartupTimeout = Seconds("--agent-startup-timeout", "Seconds to wait for the agent to start.");

    /// <summary>mirrord's CLI spells it local-with-overrides (clap's ValueEnum); its config file, localwithoverrides.</summary>
    private static readonly string[] s_fsModes = ["read", "write", "local", "local-with-overrides", "localwithoverrides"];

    public static readonly Option<string> WorkingDirectory = new("--cwd", "-C")
    {
        Description = "The directory the program starts in: a local one, or one that exists only in the target's file system (then the program's working directory is the pod's).",
    };

    public static readonly Option<bool> EphemeralContainer = new("--ephemeral-container", "-e") { Description = "Run the agent as an ephemeral container in the target pod." };

    public static readonly Option<bool> NoTelemetry = new("--no-telemetry") { Description = "Accepted for mirrord compatibility; doppel sends no telemetry." };

    public static readonly Option<bool> DisableVersionCheck = new("--disable-version-check") { Description = "Accepted for mirrord compatibility; doppel does no version check." };

    public static readonly Argument<string[]> CommandLine = new("BINARY [ARGS...]")
    {
        Description = "The program to run and its arguments (after -- or directly).",
        Arity = ArgumentArity.OneOrMore,
    };

    private readonly CliEnvironment _environment;
    private readonly ILoggerFactory _loggers;

    /// <summary>An option of whole seconds (0 or more): anything else is one sentence naming the option, without .NET's type names.</summary>
    private static Option<int?> Seconds(string name, string description) => new(name)
    {
        Description = description,
        CustomParser = result =>
        {
            var value = result.Tokens is [{ Value: var v }] ? v : string.Empty;
            if (int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds))
            {
                return seconds;
            }

            result.AddError($"{name} takes a whole number of seconds, not '{TargetParser.Shown(value)}'.");
            return null;
        },
    };

    static ExecCommand()
    {
        // One sentence naming the valid values, not System.CommandLine's indented list.
        FsMode.CompletionSources.Add(s_fsModes);
        FsMode.Validators.Add(result =>
        {
            if (result.Tokens is [{ Value: var value }] && !s_fsModes.Contains(value, StringComparer.Ordinal))
            {
                var hint = KeySuggestions.Nearest(value, s_fsModes) is { } nearest ? $" (did you mean '{nearest}'?)" : string.Empty;
                result.AddError($"--fs-mode takes read, write, local or local-with-overrides, not '{TargetParser.Shown(value)}'{hint}.");
            }
        });
    }

    public ExecCommand(CliEnvironment environment, ILoggerFactory loggers)
        : base("exec", "Run a program as if it were inside the target pod.")
    {
        _environment = environment;
        _loggers = loggers;
        Option[] options =
        [
            Target, TargetNamespace, ConfigFile, Context, EnvFile, Key, FsMode, EnvInclude, EnvExclude, Steal, NoOutgoing,
            NoTcpOutgoing, NoUdpOutgoing, NoRemoteDns, SkipProcesses, AcceptInvalidCertificates, AgentNamespace, AgentLogLevel,
            AgentImage, AgentTtl, AgentStartupTimeout, EphemeralContainer, NoTelemetry, DisableVersionCheck, WorkingDirectory,
        ];
        foreach (var option in options)
        {
            Options.Add(option);
        }

        Arguments.Add(CommandLine);
        SetAction(ExecuteAsync);
    }

    /// <summary>The flags given, as configuration overrides in the order the flags are listed (later wins).</summary>
    public static IReadOnlyList<ConfigOverride> Overrides(ParseResult parseResult)
    {
        ArgumentNullException.ThrowIfNull(parseResult);
        var list = new List<ConfigOverride>();

        void Set(Option option, string keyPath, JsonNode? value) => list.Add(new ConfigOverride(keyPath, value, option.Name));

        void SetString(Option<string> option, string keyPath)
        {
            if (parseResult.GetResult(option) is not null && parseResult.GetValue(option) is { } v)
            {
                Set(option, keyPath, JsonValue.Create(v));
            }
        }

        void SetList(Option<string[]> option, string keyPath)
        {
            if (parseResult.GetResult(option) is not null && parseResult.GetValue(option) is { Length: > 0 } values)
            {
                var items = values.SelectMany(v => v.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                Set(option, keyPath, new JsonArray(items.Select(i => (JsonNode?)JsonValue.Create(i)).ToArray()));
            }
        }

        void SetTrue(Option<bool> option, string keyPath, JsonNode value)
        {
            if (parseResult.GetValue(option))
            {
                Set(option, keyPath, value);
            }
        }

        void SetInt(Option<int?> option, string keyPath)
        {
            if (parseResult.GetValue(option) is { } v)
            {
                Set(option, keyPath, JsonValue.Create(v));
            }
        }

        SetString(Target, "target.path");
        SetString(TargetNamespace, "target.namespace");
        SetString(Context, "kube_context");
        SetString(EnvFile, "feature.env.env_file");
        SetString(Key, "key");
        if (parseResult.GetResult(FsMode) is not null && parseResult.GetValue(FsMode) is { } fsMode)
        {
            Set(FsMode, "feature.fs.mode", JsonValue.Create(fsMode == "local-with-overrides" ? "localwithoverrides" : fsMode));
        }

        SetList(EnvInclude, "feature.env.include");
        SetList(EnvExclude, "feature.env.exclude");
        SetTrue(Steal, "feature.network.incoming.mode", JsonValue.Create("steal"));
        SetTrue(NoOutgoing, "feature.network.outgoing.tcp", JsonValue.Create(false));
        SetTrue(NoOutgoing, "feature.network.outgoing.udp", JsonValue.Create(false));
        SetTrue(NoTcpOutgoing, "feature.network.outgoing.tcp", JsonValue.Create(false));
        SetTrue(NoUdpOutgoing, "feature.network.outgoing.udp", JsonValue.Create(false));
        SetTrue(NoRemoteDns, "feature.network.dns.enabled", JsonValue.Create(false));
        SetList(SkipProcesses, "skip_processes");
        SetTrue(AcceptInvalidCertificates, "accept_invalid_certificates", JsonValue.Create(true));
        SetString(AgentNamespace, "agent.namespace");
        SetString(AgentLogLevel, "agent.log_level");
        SetString(AgentImage, "agent.image");
        SetInt(AgentTtl, "agent.ttl");
        SetInt(AgentStartupTimeout, "agent.startup_timeout");
        SetTrue(EphemeralContainer, "agent.ephemeral", JsonValue.Create(true));
        return list;
    }

    private async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        // From here on signals belong to the program: before it runs they cancel its start.
        using var signals = ProgramSignals.Register(_environment.Console, _loggers.CreateLogger("doppel.signals"));
        using var interrupted = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, signals.Interrupted);
        try
        {
            return await ExecuteAsync(parseResult, signals, interrupted.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (signals.Interrupted.IsCancellationRequested && e is OperationCanceledException or RpcException or AgentConnectionException)
        {
            // A signal before the program ran: the agent call it cut short is no error of its own.
            return ExitCodes.Interrupted;
        }
    }

    private async Task<int> ExecuteAsync(ParseResult parseResult, ProgramSignals signals, CancellationToken cancellationToken)
    {
        // Load and validate everything first: a broken configuration is reported before anything runs.
        var commandLine = parseResult.GetValue(CommandLine)!;
        var loaded = ConfigCommandSupport.LoadToStart(_environment, parseResult.GetValue(ConfigFile), Overrides(parseResult), _loggers.CreateLogger("doppel.config"), $"'{commandLine[0]}'");
        if (System.Text.Encoding.UTF8.GetByteCount(commandLine[0]) > MaxPathBytes)
        {
            _environment.Console.WriteError(
                $"the program name is {commandLine[0].Length} characters long, more than a Linux path may hold ({MaxPathBytes} bytes), so nothing was run; check the command line.");
            return ExitCodes.ConfigError;
        }

        // -C: a local directory is simply where the program starts; one that is not on this machine is looked for in the pod.
        var environment = _environment;
        string? podDirectory = null;
        if (parseResult.GetValue(WorkingDirectory) is { } cwd)
        {
            if (cwd.Length == 0)
            {
                _environment.Console.WriteError($"--cwd is empty; give the directory the program should start in, or leave --cwd out; '{commandLine[0]}' was not started.");
                return ExitCodes.ConfigError;
            }

            var absolute = Path.GetFullPath(cwd, _environment.WorkingDirectory);
            if (File.Exists(absolute))
            {
                _environment.Console.WriteError($"--cwd names '{TargetParser.Shown(absolute)}', which is a file on this machine, not a directory; '{commandLine[0]}' was not started.");
                return ExitCodes.ConfigError;
            }

            if (Directory.Exists(absolute))
            {
                environment = _environment with { WorkingDirectory = absolute };
            }
            else if (loaded.Config.Target is null)
            {
                _environment.Console.WriteError($"--cwd names '{TargetParser.Shown(absolute)}', which is not a directory on this machine, and without a target there is no pod to look in; '{commandLine[0]}' was not started.");
                return ExitCodes.ConfigError;
            }
            else
            {
                podDirectory = absolute;
            }
        }

        if (loaded.Config.Target is not null)
        {
            return await TargetRun.RunAsync(loaded.Config, commandLine, environment, _loggers, signals, parseResult.GetValue(GlobalOptions.Verbose), cancellationToken, podDirectory).ConfigureAwait(false);
        }

        // No pod, so nothing to import, but what feature.env sets locally still applies, as in mirrord:
        // env_file (checked before anything starts), override, unset.
        if (TargetRun.ReadEnvFile(loaded.Config, commandLine, _environment) is not { } envFile)
        {
            return ExitCodes.ConfigError;
        }

        _environment.Console.WriteWarning(
            $"no target given: '{commandLine[0]}' runs locally, with nothing redirected (give -t pid/PID, container/ID or targetless to run it in a target's context).");

        var options = new InterceptionOptions
        {
            Program = commandLine[0],
            Arguments = commandLine[1..],
            WorkingDirectory = environment.WorkingDirectory,
            Environment = SessionEnvironment.Build(loaded.Config.Feature.Env, new Dictionary<string, string>(), TargetRun.LocalEnvironment(), envFile),

            // .NET raised this process's soft open-files limit at start-up; the program gets the user's.
            OpenFilesLimit = InterceptionOptions.ParentOpenFilesLimit(),
            Logger = _loggers.CreateLogger("doppel.interception"),
        };
        await using var process = await InterceptedProcess.StartAsync(options, new LocalOnlyPolicy(), new NoRemote(), cancellationToken).ConfigureAwait(false);
        return await signals.SuperviseAsync(process, commandLine[0]).ConfigureAwait(false);
    }
}
