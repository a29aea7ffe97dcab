using System.CommandLine;
using System.Text.Json.Nodes;
using Doppel.Cli.Logging;
using Doppel.Config;
using Doppel.Protocol.Incoming;
using Microsoft.Extensions.Logging;

namespace Doppel.Cli.Commands;

/// <summary>Loading the configuration the same way for every command that needs it.</summary>
internal static class ConfigCommandSupport
{
    /// <param name="targetChosenLater">True for <c>verify-config --ide</c>: a missing target is not final (see <see cref="ConfigLoadOptions.TargetChosenLater"/>).</param>
    /// <summary>
    /// <see cref="Load"/> for a command that starts something: a configuration that cannot be used
    /// throws its <see cref="ConfigException"/> with "; <paramref name="what"/> was not started." on
    /// its last error, as every other refusal of <c>exec</c> and <c>port-forward</c> ends.
    /// </summary>
    public static LoadedConfig LoadToStart(CliEnvironment environment, string? configFile, IReadOnlyList<ConfigOverride> flags, ILogger logger, string what)
    {
        try
        {
            return Load(environment, configFile, flags, logger);
        }
        catch (ConfigException e)
        {
            var last = e.Errors[^1];
            throw new ConfigException([.. e.Errors.SkipLast(1), last with { Message = $"{last.Message.TrimEnd('.')}; {what} was not started." }]);
        }
    }

    public static LoadedConfig Load(CliEnvironment environment, string? configFile, IReadOnlyList<ConfigOverride> flags, ILogger logger, bool printWarnings = true, bool targetChosenLater = false)
    {
        var loaded = ConfigLoader.Load(new ConfigLoadOptions
        {
            ConfigFile = configFile,
            FlagOverrides = flags,
            Environment = environment.Variables,
            WorkingDirectory = environment.WorkingDirectory,
            TargetChosenLater = targetChosenLater,

            // The agent evaluates body filters with this parser: check the query with the same one.
            JsonPathCheck = query => JsonPathQuery.TryParse(query, out _, out var problem) ? null : problem,
        });

        if (loaded.File is { } file)
        {
            CliLog.ConfigurationLoaded(logger, file);
        }
        else
        {
            CliLog.NoConfigurationFile(logger);
        }

        if (printWarnings)
        {
            foreach (var warning in loaded.Warnings)
            {
                environment.Console.WriteWarning(warning.ToString());
            }
        }

        return loaded;
    }

    /// <summary>
    /// The configuration of a command that talks to the cluster without running a program
    /// (<c>ls</c>, <c>status</c>): <c>-f</c>'s file with <c>--context</c> (<c>kube_context</c>) and
    /// <c>-c</c> (<c>accept_invalid_certificates</c>) over it, the target left for the command to
    /// choose. Errors as <see cref="Load"/>.
    /// </summary>
    public static DoppelConfig LoadForCluster(CliEnvironment environment, ParseResult parseResult, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(parseResult);
        var overrides = new List<ConfigOverride>();
        if (parseResult.GetValue(ExecCommand.Context) is { } context)
        {
            overrides.Add(new ConfigOverride("kube_context", JsonValue.Create(context), ExecCommand.Context.Name));
        }

        if (parseResult.GetValue(ExecCommand.AcceptInvalidCertificates))
        {
            overrides.Add(new ConfigOverride("accept_invalid_certificates", JsonValue.Create(true), ExecCommand.AcceptInvalidCertificates.Name));
        }

        return Load(environment, parseResult.GetValue(ExecCommand.ConfigFile), overrides, logger, targetChosenLater: true).Config;
    }
}
