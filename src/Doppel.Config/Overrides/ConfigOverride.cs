using System.Text.Json.Nodes;

namespace Doppel.Config;

/// <summary>
/// One value set from outside the file (an environment variable or a CLI flag) at a key path of
/// the object form, e.g. <c>feature.fs.mode</c>. <paramref name="Origin"/> is what error messages
/// name instead of a file position: <c>--fs-mode</c>, <c>environment variable MIRRORD_FILE_MODE</c>.
/// </summary>
public sealed record ConfigOverride(string KeyPath, JsonNode? Value, string Origin);
