using System.Text.Json.Nodes;

namespace Doppel.Config.Loading;

/// <summary>
/// A configuration file after rendering and parsing, whatever its format: one JSON tree plus
/// the source positions of its key paths. Everything after parsing works on this alone.
/// </summary>
public sealed record ConfigDocument(JsonObject Root, SourceMap Positions, string? File);
