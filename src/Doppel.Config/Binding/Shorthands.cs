using System.Text.Json;
using System.Text.Json.Nodes;

namespace Doppel.Config.Binding;

/// <summary>
/// Rewrites mirrord's shorthand forms into their object forms before overrides and binding, so
/// both deal with one shape: <c>"fs": "write"</c> → <c>{"mode": "write"}</c>, <c>"env": false</c> →
/// <c>{"enabled": false}</c>, <c>"target": "pod/x"</c> → <c>{"path": "pod/x"}</c>, <c>"network": false</c> →
/// every network feature off, ... Errors about an
/// expanded value are reported at the key the user wrote.
/// </summary>
internal static class Shorthands
{
    public static void Expand(JsonObject root, BindContext context)
    {
        Rewrite(root, "target", context, b: null, s: s => new JsonObject { ["path"] = s }, "path");
        MoveTargetIntoPath(root, context);

        if (root["feature"] is not JsonObject feature)
        {
            return;
        }

        Rewrite(feature, "feature.env", context, b => new JsonObject { ["enabled"] = b }, s: null, "enabled");
        Rewrite(feature, "feature.fs", context, b => new JsonObject { ["mode"] = b ? "read" : "local" }, s => new JsonObject { ["mode"] = s }, "mode");

        // "network": false turns every network feature off (mirrord's disabled_config for each);
        // true keeps the defaults.
        Rewrite(
            feature,
            "feature.network",
            context,
            b => b ? [] : new JsonObject
            {
                ["incoming"] = new JsonObject { ["mode"] = "off" },
                ["outgoing"] = new JsonObject { ["tcp"] = false, ["udp"] = false },
                ["dns"] = new JsonObject { ["enabled"] = false },
            },
            s: null,
            "incoming",
            "incoming.mode",
            "outgoing",
            "outgoing.tcp",
            "outgoing.udp",
            "dns",
            "dns.enabled");

        if (feature["network"] is not JsonObject network)
        {
            return;
        }

        Rewrite(network, "feature.network.incoming", context, b => new JsonObject { ["mode"] = b ? "mirror" : "off" }, s => new JsonObject { ["mode"] = s }, "mode");
        Rewrite(network, "feature.network.outgoing", context, b => new JsonObject { ["tcp"] = b, ["udp"] = b }, s: null, "tcp", "udp");
        Rewrite(network, "feature.network.dns", context, b => new JsonObject { ["enabled"] = b }, s: null, "enabled");
    }

    /// <summary>
    /// mirrord also takes the target object without <c>path</c>: <c>{"pod": "web-0", "container":
    /// "app", "namespace": "dev"}</c> (its untagged <c>TargetFileConfig</c>). Moving the target keys
    /// into <c>path</c> gives one shape, so a <c>-t</c> flag replaces them as it replaces path.
    /// </summary>
    private static void MoveTargetIntoPath(JsonObject root, BindContext context)
    {
        if (root["target"] is not JsonObject target || target["path"] is not null)
        {
            return;
        }

        var moved = target.Select(m => m.Key).Where(k => k is "container" or "labels" || Targets.TargetParser.ObjectKeys.ContainsKey(k)).ToList();
        if (moved.Count == 0)
        {
            return;
        }

        var path = new JsonObject();
        foreach (var name in moved)
        {
            var value = target[name];
            target.Remove(name);
            path[name] = value;
            context.AddAlias("target.path." + name, "target." + name);
        }

        target.Remove("path");
        target["path"] = path;
        context.AddAlias("target.path", "target");
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
