using System.CommandLine;
using Doppel.Config.Binding;
using Doppel.Config.Targets;

namespace Doppel.Cli.Commands;

/// <summary>
/// Options that take one of a few words (<c>-o text|json</c>, <c>ls -t pod|deployment|…</c>): a
/// value outside them is one sentence naming the option as typed, the words it takes and the
/// nearest one (<c>-o takes text or json, not 'yaml'.</c>), exit 2 like every command-line
/// mistake (docs/cli.md "Exit codes") — instead of System.CommandLine's "argument 'yaml' not
/// recognized. Must be one of:" with an indented list.
/// </summary>
internal static class OptionChoices
{
    /// <summary>Makes <paramref name="option"/> take only <paramref name="choices"/> (case-sensitive); every value given is checked.</summary>
    public static void Only(Option option, params string[] choices)
    {
        ArgumentNullException.ThrowIfNull(option);
        option.CompletionSources.Add(choices);
        option.Validators.Add(result =>
        {
            var name = result.IdentifierToken?.Value ?? option.Name;
            foreach (var token in result.Tokens)
            {
                if (!choices.Contains(token.Value, StringComparer.Ordinal))
                {
                    var hint = KeySuggestions.Nearest(token.Value, choices) is { } nearest ? $" (did you mean '{nearest}'?)" : string.Empty;
                    result.AddError($"{name} takes {Words(choices)}, not '{TargetParser.Shown(token.Value)}'{hint}.");
                }
            }
        });
    }

    /// <summary>"a or b", "a, b or c".</summary>
    public static string Words(IReadOnlyList<string> choices) =>
        choices.Count == 1 ? choices[0] : $"{string.Join(", ", choices.Take(choices.Count - 1))} or {choices[^1]}";
}
