namespace Doppel.Config;

/// <summary>A usable configuration, the file it came from (if any), and what was worth a warning.</summary>
public sealed record LoadedConfig(DoppelConfig Config, string? File, IReadOnlyList<ConfigError> Warnings);
