using System.Text.RegularExpressions;

namespace Doppel.Config;

/// <summary>Compiled forms of <see cref="FsConfig"/>'s lists, in the order rules apply.</summary>
public sealed record FsRules(
    IReadOnlyList<Regex> ReadWrite,
    IReadOnlyList<Regex> ReadOnly,
    IReadOnlyList<Regex> Local,
    IReadOnlyList<Regex> NotFound,
    IReadOnlyList<KeyValuePair<Regex, string>> Mapping)
{
    public static FsRules Empty { get; } = new([], [], [], [], []);
}
