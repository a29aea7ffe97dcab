using System.CommandLine;
using System.CommandLine.Parsing;
using Doppel.Cli.Commands;
using Doppel.Cli.Logging;
using Doppel.Config;
using Doppel.Config.Logging;
using Doppel.Config.Targets;
using Microsoft.Extensions.Logging;

namespace Doppel.Cli;

/// <summary>
/// The composition root: builds the command tree, runs it, and turns the errors a user can cause
/// into one message and a documented exit code (stack traces only with <c>-v</c>).
/// </summary>
public static class DoppelCli
{
    public static async Task<int> RunAsync(string[] args, CliEnvironment environment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);

        using var loggers = new LazyLoggerFactory();
        var root = BuildRoot(environment, loggers);
        var parseResult = root.Parse(ExecArguments.Prepare(args, root));
        var verbose = parseResult.GetValue(GlobalOptions.Verbose);
        loggers.MinimumLevel = LogLevels.Resolve(verbose, environment.Variables);
        foreach (var level in LogLevels.UnknownLevels(environment.Variables("DOPPEL_LOG")))
        {
            // RUST_LOG is shared with other tools and may name what doppel does not know: only DOPPEL_LOG is checked.
            environment.Console.WriteWarning($"DOPPEL_LOG: '{TargetParser.Shown(level)}' is not a log level, so it is ignored; use {LogLevels.ValidLevels} (or TARGET=LEVEL).");
        }

        if (ExecArguments.UnknownOptions(args, root) is { Count: > 0 } unknown)
        {
            foreach (var option in unknown)
            {
                environment.Console.WriteError($"'{option}' is not an option of doppel exec; put the program's own options after its name (or after --).");
            }

            environment.Console.WriteInfo("Run 'doppel exec --help' to see the usage.");
            return ExitCodes.ConfigError;
        }

        if (parseResult.CommandResult.Command is { Name: not "exec" } other && other != root
            && ExecArguments.UnknownOptions(args, root, other) is { Count: > 0 } unknownOfOther)
        {
            // Otherwise the parser takes '--bogus' for the path and complains about the token after it.
            foreach (var option in unknownOfOther)
            {
                environment.Console.WriteError($"'{TargetParser.Shown(option)}' is not an option of doppel {other.Name}.");
            }

            environment.Console.WriteInfo($"Run 'doppel {other.Name} --help' to see the usage.");
            return ExitCodes.ConfigError;
        }

        if (parseResult.Errors.Count > 0 && parseResult.Action is not System.CommandLine.Help.HelpAction)
        {
            var command = parseResult.CommandResult.Command;
            var messages = StructureMessages(parseResult, root) is { Count: > 0 } structure
                ? structure
                : parseResult.Errors.Select(e => Message(e, command)).Distinct(StringComparer.Ordinal).ToList();
            if (messages.Count > 1)
            {
                // 'exec -t' with nothing after it: the option's missing value is the mistake, not the program.
                messages.Remove(NeedsProgram);
            }

            foreach (var message in messages)
            {
                environment.Console.WriteError(message);
            }

            var name = command == root ? "doppel" : $"doppel {command.Name}";
            environment.Console.WriteInfo($"Run '{name} --help' to see the usage.");
            return ExitCodes.ConfigError;
        }

        var logger = loggers.CreateLogger("doppel");
        try
        {
            var invocation = new InvocationConfiguration
            {
                Output = environment.Console.Out,
                Error = environment.Console.Error,
                EnableDefaultExceptionHandler = false,

                // No cancellation on SIGINT/SIGTERM: exec hands signals to the program and keeps
                // serving it until it exits (Running/ProgramSignals); the other commands are short.
                ProcessTerminationTimeout = null,
            };
            return await parseResult.InvokeAsync(invocation, cancellationToken).ConfigureAwait(false);
        }
        catch (ConfigException e)
        {
            foreach (var error in e.Errors)
            {
                environment.Console.WriteError(error.ToString());
            }

            return ExitCodes.ConfigError;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ExitCodes.Interrupted;
        }
        catch (Exception e) when (!verbose)
        {
            environment.Console.WriteError($"doppel failed unexpectedly: {e.Message} Run again with -v for the details, and report it if it persists.");
            return ExitCodes.InternalError;
        }
        catch (Exception e)
        {
            CliLog.UnexpectedFailure(logger, e);
            environment.Console.WriteError($"doppel failed unexpectedly: {e}");
            return ExitCodes.InternalError;
        }
    }

    internal static RootCommand BuildRoot(CliEnvironment environment, ILoggerFactory loggers)
    {
        var root = new RootCommand("doppel runs a local process as if it were inside a Kubernetes pod: the pod's environment, files, incoming and outgoing traffic, and DNS. It reads mirrord's configuration files and flags unchanged.")
        {
            new ExecCommand(environment, loggers),
            new VerifyConfigCommand(environment, loggers),
            new SchemaCommand(environment),
            new LsCommand(environment, loggers),
            new StatusCommand(environment, loggers),
            new PortForwardCommand(environment, loggers),
        };
        root.Options.Add(GlobalOptions.Verbose);
        return root;
    }

    /// <summary>
    /// Mistakes in the command line's shape, as sentences (System.CommandLine's own say "required
    /// command was not provided", "unrecognized command or argument 'x'"): no command or an unknown
    /// one (naming the commands), a word a command does not take, a command's missing argument.
    /// Empty when the mistakes are of another kind (an option's value: <see cref="Message"/>).
    /// </summary>
    private static List<string> StructureMessages(ParseResult parseResult, RootCommand root)
    {
        var command = parseResult.CommandResult.Command;
        if (command == root)
        {
            var commands = OptionChoices.Words(root.Subcommands.Where(c => !c.Hidden).Select(c => c.Name).ToList());
            return parseResult.UnmatchedTokens switch
            {
                [var first, ..] when first.StartsWith('-') => [$"'{TargetParser.Shown(first)}' is not an option of doppel; give a command first: {commands}."],
                [var first, ..] => [$"'{TargetParser.Shown(first)}' is not a doppel command; use {commands}."],
                _ => [$"doppel needs a command: {commands}."],
            };
        }

        if (parseResult.UnmatchedTokens.Count > 0)
        {
            return [.. parseResult.UnmatchedTokens.Select(t => $"'{TargetParser.Shown(t)}' is not an option or argument of doppel {command.Name}.").Distinct(StringComparer.Ordinal)];
        }

        if (command.Name != "exec"
            && command.Arguments.FirstOrDefault(a => a.Arity.MinimumNumberOfValues > 0 && parseResult.CommandResult.GetResult(a) is not { Tokens.Count: > 0 }) is { } missing)
        {
            return [$"doppel {command.Name} needs its {missing.Name} argument ({missing.Description?.TrimEnd('.')})."];
        }

        return [];
    }

    private const string NeedsProgram = "doppel exec needs the program to run: doppel exec [OPTIONS] [--] PROGRAM [ARGS...].";

    /// <summary>A parse error as one sentence: the option named as typed, no .NET type names.</summary>
    private static string Message(ParseError error, Command command)
    {
        var option = error.SymbolResult switch
        {
            OptionResult o => o,
            ArgumentResult { Parent: OptionResult o } => o,
            _ => null,
        };
        var name = option?.IdentifierToken?.Value ?? option?.Option.Name;
        if (option is not null && option.Tokens.Count == 0 && option.Option.Arity.MinimumNumberOfValues > 0)
        {
            return $"{name} needs a value ({option.Option.Description?.TrimEnd('.')}).";
        }

        return command.Name == "exec" && error.Message.Contains("argument missing", StringComparison.OrdinalIgnoreCase)
            ? NeedsProgram
            : Sentence(error.Message);
    }

    private static string Sentence(string message) =>
        message.Length > 0 && char.IsUpper(message[0]) ? char.ToLowerInvariant(message[0]) + message[1..] : message;
}
