namespace Doppel.Config.Templating;

/// <summary>
/// The value of a template expression: a string, or undefined together with the error to report
/// if the undefined value is used anywhere but as the input of the <c>default</c> filter
/// (Tera's semantics for unknown variables, which doppel also applies to <c>get_env</c> without
/// a default, so <c>get_env(name="X") | default(value="y")</c> works when X is unset).
/// </summary>
internal readonly record struct TemplateValue(string? Text, ConfigError? Missing)
{
    public bool IsDefined => Text is not null;

    public static TemplateValue Of(string text) => new(text, null);

    public static TemplateValue Undefined(ConfigError why) => new(null, why);

    /// <summary>The string, or the reason it is undefined thrown as a <see cref="ConfigException"/>.</summary>
    public string Require() => Text ?? throw new ConfigException(Missing ?? new ConfigError("The template uses an undefined value."));
}
