using System.Globalization;
using System.Text.Json.Nodes;

namespace Doppel.Config.Overrides;

/// <summary>
/// A configuration key that an environment variable may set. mirrord's name comes first, doppel's
/// own second; when both are set doppel's wins. Flags still beat both.
/// </summary>
internal sealed record EnvironmentOverride(string MirrordName, string KeyPath, OverrideValueKind Kind, Func<JsonNode?, JsonNode?>? Map = null)
{
    public string DoppelName => "DOPPEL_" + MirrordName["MIRRORD_".Length..];

    /// <summary>The table documented in docs/cli.md.</summary>
    public static IReadOnlyList<EnvironmentOverride> All { get; } =
    [
        new("MIRRORD_IMPERSONATED_TARGET", "target.path", OverrideValueKind.String),
        new("MIRRORD_TARGET_NAMESPACE", "target.namespace", OverrideValueKind.String),
        new("MIRRORD_KUBE_CONTEXT", "kube_context", OverrideValueKind.String),
        new("MIRRORD_KEY", "key", OverrideValueKind.String),
        new("MIRRORD_FILE_MODE", "feature.fs.mode", OverrideValueKind.String),
        new("MIRRORD_OVERRIDE_ENV_VARS_INCLUDE", "feature.env.include", OverrideValueKind.SemicolonList),
        new("MIRRORD_OVERRIDE_ENV_VARS_EXCLUDE", "feature.env.exclude", OverrideValueKind.SemicolonList),
        new("MIRRORD_AGENT_TCP_STEAL_TRAFFIC", "feature.network.incoming.mode", OverrideValueKind.Bool, StealToMode),
        new("MIRRORD_TCP_OUTGOING", "feature.network.outgoing.tcp", OverrideValueKind.Bool),
        new("MIRRORD_UDP_OUTGOING", "feature.network.outgoing.udp", OverrideValueKind.Bool),
        new("MIRRORD_REMOTE_DNS", "feature.network.dns.enabled", OverrideValueKind.Bool),
        new("MIRRORD_SKIP_PROCESSES", "skip_processes", OverrideValueKind.SemicolonList),
        new("MIRRORD_ACCEPT_INVALID_CERTIFICATES", "accept_invalid_certificates", OverrideValueKind.Bool),
        new("MIRRORD_AGENT_IMAGE", "agent.image", OverrideValueKind.String),
        new("MIRRORD_AGENT_NAMESPACE", "agent.namespace", OverrideValueKind.String),
        new("MIRRORD_AGENT_RUST_LOG", "agent.log_level", OverrideValueKind.String),
        new("MIRRORD_AGENT_TTL", "agent.ttl", OverrideValueKind.Int),
        new("MIRRORD_AGENT_STARTUP_TIMEOUT", "agent.startup_timeout", OverrideValueKind.Int),
        new("MIRRORD_EPHEMERAL_CONTAINER", "agent.ephemeral", OverrideValueKind.Bool),
    ];

    /// <summary>The overrides the given environment sets, in table order.</summary>
    public static IEnumerable<ConfigOverride> FromEnvironment(Func<string, string?> environment)
    {
        foreach (var entry in All)
        {
            foreach (var name in new[] { entry.MirrordName, entry.DoppelName })
            {
                var text = environment(name);
                if (string.IsNullOrEmpty(text))
                {
                    continue;
                }

                var value = Convert(text, entry.Kind);
                yield return new ConfigOverride(entry.KeyPath, entry.Map is null ? value : entry.Map(value), $"environment variable {name}");
            }
        }
    }

    // Values that do not convert stay strings, so the binder says what was expected and names the variable.
    private static JsonNode? Convert(string text, OverrideValueKind kind)
    {
        switch (kind)
        {
            case OverrideValueKind.Bool:
                if (text.Equals("true", StringComparison.OrdinalIgnoreCase) || text == "1")
                {
                    return JsonValue.Create(true);
                }

                if (text.Equals("false", StringComparison.OrdinalIgnoreCase) || text == "0")
                {
                    return JsonValue.Create(false);
                }

                return JsonValue.Create(text);
            case OverrideValueKind.Int:
                return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? JsonValue.Create(n) : JsonValue.Create(text);
            case OverrideValueKind.SemicolonList:
                return new JsonArray(text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => (JsonNode?)JsonValue.Create(s)).ToArray());
            default:
                return JsonValue.Create(text);
        }
    }

    private static JsonNode? StealToMode(JsonNode? value) => value?.GetValueKind() switch
    {
        System.Text.Json.JsonValueKind.True => JsonValue.Create("steal"),
        System.Text.Json.JsonValueKind.False => JsonValue.Create("mirror"),
        _ => value,
    };
}
