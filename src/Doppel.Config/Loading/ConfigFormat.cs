namespace Doppel.Config.Loading;

public enum ConfigFormat
{
    Json,
    Yaml,
    Toml,
}
