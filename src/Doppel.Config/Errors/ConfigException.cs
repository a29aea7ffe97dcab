namespace Doppel.Config;

/// <summary>
/// The configuration cannot be used. Carries every error found in one pass so the user can fix
/// them all at once; the CLI prints them and exits with the configuration-error exit code.
/// </summary>
public sealed class ConfigException : Exception
{
    public ConfigException(IReadOnlyList<ConfigError> errors)
        : base(string.Join(Environment.NewLine, errors.Select(e => e.ToString())))
    {
        if (errors.Count == 0)
        {
            throw new ArgumentException("A configuration exception needs at least one error.", nameof(errors));
        }

        Errors = errors;
    }

    public ConfigException(ConfigError error)
        : this([error])
    {
    }

    public ConfigException()
        : this(new ConfigError("The configuration is invalid."))
    {
    }

    public ConfigException(string message)
        : this(new ConfigError(message))
    {
    }

    public ConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [new ConfigError(message)];
    }

    public IReadOnlyList<ConfigError> Errors { get; }
}
