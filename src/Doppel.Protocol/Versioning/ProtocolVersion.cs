namespace Doppel.Protocol;

/// <summary>
/// Versions of the session ↔ agent protocol (package <c>doppel.agent.v1</c>). A version is bumped
/// when the meaning of the conversation changes in a way new fields cannot express (a call's
/// semantics, a required new first message); adding fields or calls needs no bump, only a
/// feature name (<see cref="ProtocolFeatures"/>). Both sides speak every version from
/// <see cref="MinimumSupported"/> to <see cref="Current"/>; <c>Hello</c> picks the highest common one.
/// </summary>
public static class ProtocolVersion
{
    /// <summary>The newest version this build speaks.</summary>
    public const uint Current = 1;

    /// <summary>The oldest version this build still speaks.</summary>
    public const uint MinimumSupported = 1;
}
