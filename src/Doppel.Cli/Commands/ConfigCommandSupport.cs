using Doppel.Cli.Logging;
using Doppel.Config;
using Doppel.Protocol.Incoming;
using Microsoft.Extensions.Logging;

namespace Doppel.Cli.Commands;

/// <summary>Loading the configuration the same way for every command that needs it.</summary>
internal static class ConfigCommandSupport
{
    /// <param name="targetChosenLater">True for <c>verify-config --ide</c>: a missing target is not final (see <see cref="ConfigLoadOptions.TargetChosenLater"/>).</param>
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
}
