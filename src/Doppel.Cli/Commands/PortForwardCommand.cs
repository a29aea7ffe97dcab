using System.CommandLine;
using System.CommandLine.Parsing;
using Doppel.Cli.Running;
using Doppel.Config.Targets;
using Doppel.Session.Forwarding;
using Microsoft.Extensions.Logging;

namespace Doppel.Cli.Commands;

/// <summary>
/// <c>doppel port-forward [-t TARGET] [-f CONFIG] [-n NS] … -L [local_port:]remote_host:remote_port … -R [remote_port:]local_port …</c>:
/// mirrord's <c>port-forward</c>, flags unchanged (its <c>PortForwardArgs</c>: target, agent and config
/// flags as for exec, <c>-L</c>/<c>--port-mapping</c>/<c>--port-mappings</c> and
/// <c>-R</c>/<c>--reverse-port-mapping</c>, each repeatable, at least one of them). Runs until Ctrl+C
/// (<see cref="PortForwardRun"/>).
/// </summary>
internal sealed class PortForwardCommand : Command
{
    public static readonly Option<string[]> Local = new("--port-mapping", "-L", "--port-mappings")
    {
        Description = "[local_port:]remote_host:remote_port — connections to 127.0.0.1:local_port (default: remote_port) are made from the pod to remote_host (an IP, or a name the pod resolves) (repeatable).",
        AllowMultipleArgumentsPerToken = false,
        Arity = ArgumentArity.OneOrMore,
    };

    public static readonly Option<string[]> Reverse = new("--reverse-port-mapping", "-R")
    {
        Description = "[remote_port:]local_port — the target's incoming traffic on remote_port (default: local_port) goes to 127.0.0.1:local_port, stolen or mirrored as feature.network.incoming says (repeatable).",
        AllowMultipleArgumentsPerToken = false,
        Arity = ArgumentArity.OneOrMore,
    };

    private readonly CliEnvironment _environment;
    private readonly ILoggerFactory _loggers;

    static PortForwardCommand()
    {
        Local.Validators.Add(result => Validate<LocalForward>(result, "-L", ForwardSpecs.TryParseLocal, f => f.LocalPort, "local port"));
        Reverse.Validators.Add(result => Validate<ReverseForward>(result, "-R", ForwardSpecs.TryParseReverse, f => f.RemotePort, "target port"));
    }

    public PortForwardCommand(CliEnvironment environment, ILoggerFactory loggers)
        : base("port-forward", "Forward local ports to destinations reached from the target pod (-L), and the target's incoming traffic to local ports (-R), until Ctrl+C.")
    {
        _environment = environment;
        _loggers = loggers;
        Option[] options =
        [
            ExecCommand.Target, ExecCommand.TargetNamespace, ExecCommand.ConfigFile, ExecCommand.Context, ExecCommand.AcceptInvalidCertificates,
            ExecCommand.AgentNamespace, ExecCommand.AgentLogLevel, ExecCommand.AgentImage, ExecCommand.AgentTtl, ExecCommand.AgentStartupTimeout,
            ExecCommand.EphemeralContainer, ExecCommand.NoTelemetry, ExecCommand.DisableVersionCheck, Local, Reverse,
        ];
        foreach (var option in options)
        {
            Options.Add(option);
        }

        Validators.Add(result =>
        {
            if (result.GetResult(Local) is null && result.GetResult(Reverse) is null)
            {
                result.AddError("doppel port-forward needs at least one -L [local_port:]remote_host:remote_port or -R [remote_port:]local_port.");
            }
        });
        SetAction(ExecuteAsync);
    }

    private async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var loaded = ConfigCommandSupport.LoadToStart(_environment, parseResult.GetValue(ExecCommand.ConfigFile), ExecCommand.Overrides(parseResult), _loggers.CreateLogger("doppel.config"), "the port-forward");
        var locals = (parseResult.GetValue(Local) ?? []).Select(s => ForwardSpecs.TryParseLocal(s, out var f, out _) ? f! : throw new InvalidOperationException("validated")).ToList();
        var reverses = (parseResult.GetValue(Reverse) ?? []).Select(s => ForwardSpecs.TryParseReverse(s, out var f, out _) ? f! : throw new InvalidOperationException("validated")).ToList();
        return await PortForwardRun.RunAsync(loaded.Config, locals, reverses, _environment, _loggers, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Each value parses, and no two name the same <paramref name="what"/> (mirrord refuses that too).</summary>
    private static void Validate<T>(OptionResult result, string flag, ForwardSpecs.Parser<T> parse, Func<T, int> key, string what)
        where T : class
    {
        var seen = new Dictionary<int, string>();
        foreach (var token in result.Tokens)
        {
            if (!parse(token.Value, out var forward, out var problem))
            {
                result.AddError($"{flag} '{TargetParser.Shown(token.Value)}': {problem}");
                continue;
            }

            if (seen.TryGetValue(key(forward!), out var earlier))
            {
                result.AddError($"{flag} '{TargetParser.Shown(token.Value)}' uses {what} {key(forward!)}, as '{TargetParser.Shown(earlier)}' does already; give each {flag} its own {what}.");
                continue;
            }

            seen[key(forward!)] = token.Value;
        }
    }
}
