namespace Doppel.Config.Binding;

/// <summary>
/// A key mirrord's configuration has and doppel does not implement. Files that set it still load
/// (mirrord users bring them unchanged); <see cref="Handling"/> says whether the user hears about
/// it, and <see cref="Instead"/> what doppel does instead.
/// </summary>
/// <param name="Path">The key path, e.g. <c>feature.copy_target</c>.</param>
/// <param name="Types">The JSON types mirrord accepts there (for the schema), e.g. <c>["boolean", "object"]</c>.</param>
/// <param name="Instead">What doppel does instead, a sentence fragment ending with a full stop.</param>
/// <param name="Keys">mirrord's member names when it is an object, so a typo inside is still an error; null when free-form.</param>
internal sealed record MirrordOnlyKey(
    string Path,
    IReadOnlyList<string> Types,
    string Instead,
    IReadOnlyList<string>? Keys = null,
    MirrordOnlyHandling Handling = MirrordOnlyHandling.Warn)
{
    public string Name => Path[(Path.LastIndexOf('.') + 1)..];

    public string Parent => Path.LastIndexOf('.') is var dot and > 0 ? Path[..dot] : string.Empty;

    /// <summary>The sentence users read after the key path, and the schema's description.</summary>
    public string Message => Handling switch
    {
        MirrordOnlyHandling.Error => $"a mirrord filter that doppel does not implement yet; {Instead}",
        MirrordOnlyHandling.Silent => $"a mirrord setting for macOS; {Instead}",
        MirrordOnlyHandling.WarnEachKey => "mirrord's experimental switches; doppel implements none of them and warns about each one set to a value that asks for something doppel does not do.",
        _ => $"a mirrord feature that doppel does not implement yet; {Instead}",
    };
}
