using System.Text.Json;
using System.Text.Json.Nodes;

namespace Doppel.Config.Binding;

/// <summary>
/// Rewrites mirrord's shorthand forms into their object forms before overrides and binding, so
/// both deal with one shape: <c>"fs": "write"</c> → <c>{"mode": "write"}</c>, <c>"env": false</c> →
/// <c>{"enabled": false}</c>, <c>"target": "pod/x"</c> → <c>{"path": "pod/x"}</c>, ... Errors about an
/// expanded value are reported at the key the user wrote.
/// </summary>
internal static class Shorthands
{
    public static void Expand(JsonObject root, BindContext context)
    {
        Rewrite(root, "target", context, b: null, s: s => new JsonObject { ["path"] = s }, "path");

        if (root["feature"] is not JsonObject feature)
        {
            return;
        }

        Rewrite(feature, "feature.env", context, b => new JsonObject { ["enabled"] = b }, s: null, "enabled");
        Rewrite(feature, "feature.fs", context, b => new JsonObject { ["mode"] = b ? "read" : "local" }, s => new JsonObject { ["mode"] = s }, "mode");

        if (feature["network"] is not JsonObject network)
        {
            return;
        }

        Rewrite(network, "feature.network.incoming", context, b => new JsonObject { ["mode"] = b ? "mirror" : "off" }, s => new JsonObject { ["mode"] = s }, "mode");
        Rewrite(network, "feature.network.outgoing", context, b => new JsonObject { ["tcp"] = b, ["udp"] = b }, s: null, "tcp", "udp");
        Rewrite(network, "feature.network.dns", context, b => new JsonObject { ["enabled"] = b }, s: null, "enabled");
    }

    private static void Rewrite(JsonObject parent, string path, BindContext context, Func<bool, JsonObject>? b, Func<string, JsonObject>? s, params string[] members)
    {
        var key = path[(path.LastIndexOf('.') + 1)..];
        var node = parent[key];
        if (node is null or JsonObject)
        {
            return;
        }

        JsonObject? expanded = node.GetValueKind() switch
        {
            JsonValueKind.True or JsonValueKind.False when b is not null => b(node.GetValue<bool>()),
            JsonValueKind.String when s is not null => s(node.GetValue<string>()),
            _ => null,
        };

        if (expanded is null)
        {
            return; // the binder reports the wrong type with the forms it accepts
        }

        parent[key] = expanded;
        foreach (var member in members)
        {
            context.AddAlias(path + "." + member, path);
        }
    }
}
