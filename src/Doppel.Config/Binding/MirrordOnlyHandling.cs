namespace Doppel.Config.Binding;

/// <summary>What doppel does when a file sets a <see cref="MirrordOnlyKey"/>.</summary>
internal enum MirrordOnlyHandling
{
    /// <summary>One warning saying doppel does not implement it and what happens instead.</summary>
    Warn,

    /// <summary>One warning per member set (mirrord's experimental switches: each is its own feature).</summary>
    WarnEachKey,

    /// <summary>An error: ignoring it would change which requests a session takes (an HTTP filter).</summary>
    Error,

    /// <summary>Accepted without a word: it only matters on macOS, and doppel runs on Linux.</summary>
    Silent,
}
