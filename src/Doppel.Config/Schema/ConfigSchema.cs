using System.ComponentModel;
using System.Reflection;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Schema;
using System.Text.Json.Serialization.Metadata;
using Doppel.Config.Binding;
using Doppel.Config.Output;
using Doppel.Config.Targets;

namespace Doppel.Config.Schema;

/// <summary>
/// The JSON Schema of the configuration file, for editor completion. Derived from the model
/// records (so it cannot drift from what the loader reads), then shaped to what users write:
/// shorthands (<c>"fs": "write"</c>, <c>"env": false</c>, <c>"target": "pod/x"</c>) and the
/// input form of the target.
/// </summary>
public static class ConfigSchema
{
    private static readonly JsonSerializerOptions s_write = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Generate()
    {
        var options = new JsonSchemaExporterOptions { TreatNullObliviousAsNonNullable = true, TransformSchemaNode = Transform };
        var body = ConfigJsonContext.Default.DoppelConfig.GetJsonSchemaAsNode(options).AsObject();
        var schema = new JsonObject
        {
            ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
            ["title"] = "doppel configuration (mirrord-compatible)",
        };
        foreach (var (key, value) in body.ToList())
        {
            body.Remove(key);
            schema[key] = value;
        }

        foreach (var key in MirrordOnlyKeys.All)
        {
            AddMirrordOnly(schema, key);
        }

        return schema.ToJsonString(s_write) + "\n";
    }

    /// <summary>
    /// Lists a key doppel recognises without implementing it, so editors complete every mirrord
    /// key; its description says what doppel does instead.
    /// </summary>
    private static void AddMirrordOnly(JsonObject schema, MirrordOnlyKey key)
    {
        var node = schema;
        foreach (var segment in key.Parent.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            node = ObjectChoice(node)["properties"]![segment]!.AsObject();
        }

        var entry = new JsonObject
        {
            ["type"] = key.Types.Count == 1 ? key.Types[0] : new JsonArray(key.Types.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray()),
            ["description"] = key.Message,
        };
        if (key.Keys is { } members)
        {
            entry["properties"] = new JsonObject(members.Select(m => KeyValuePair.Create(m, (JsonNode?)new JsonObject())));
            entry["additionalProperties"] = false;
        }

        ObjectChoice(node)["properties"]![key.Name] = entry;
    }

    // The object form of a property that also has shorthands (anyOf boolean, string, object).
    private static JsonObject ObjectChoice(JsonObject node) =>
        node["properties"] is not null
            ? node
            : node["anyOf"]!.AsArray().Select(c => c!.AsObject()).First(c => c["properties"] is not null);

    private static JsonNode Transform(JsonSchemaExporterContext context, JsonNode schema)
    {
        var type = context.TypeInfo.Type;
        if (schema is JsonObject obj)
        {
            obj.Remove("required");
            if (context.TypeInfo.Kind == JsonTypeInfoKind.Object && type.Namespace == typeof(DoppelConfig).Namespace)
            {
                obj["additionalProperties"] = false;
            }
        }

        var shaped = Shape(type, context.PropertyInfo, schema);
        if (Description(context.PropertyInfo) is { } description && shaped is JsonObject described)
        {
            described["description"] = description;
        }

        return shaped;
    }

    private static JsonNode Shape(Type type, JsonPropertyInfo? property, JsonNode schema)
    {
        if (type == typeof(TargetConfig))
        {
            return AnyOf(new JsonObject { ["type"] = "string" }, TargetObject());
        }

        if (type == typeof(EnvConfig) || type == typeof(OutgoingConfig) || type == typeof(DnsConfig) || type == typeof(NetworkConfig))
        {
            return AnyOf(new JsonObject { ["type"] = "boolean" }, schema);
        }

        if (type == typeof(FsConfig))
        {
            return AnyOf(new JsonObject { ["type"] = "boolean" }, Enum("local", "localwithoverrides", "read", "write"), schema);
        }

        if (type == typeof(IncomingConfig))
        {
            return AnyOf(new JsonObject { ["type"] = "boolean" }, Enum("mirror", "steal", "off"), schema);
        }

        if (type == typeof(AgentImageConfig))
        {
            return AnyOf(new JsonObject { ["type"] = "string" }, schema);
        }

        if (type == typeof(PortPair))
        {
            return new JsonObject
            {
                ["type"] = "array",
                ["items"] = new JsonObject { ["type"] = "integer", ["minimum"] = 1, ["maximum"] = 65535 },
                ["minItems"] = 2,
                ["maxItems"] = 2,
            };
        }

        // Lists that mirrord also takes as one ';'-separated string.
        if (property?.DeclaringType is { } declaring
            && ((declaring == typeof(EnvConfig) && property.Name is "include" or "exclude" or "unset")
                || (declaring == typeof(DoppelConfig) && property.Name == "skip_processes")))
        {
            return AnyOf(new JsonObject { ["type"] = "string" }, schema);
        }

        return schema;
    }

    private static JsonObject TargetObject()
    {
        var pathObject = new JsonObject();
        foreach (var key in TargetParser.ObjectKeys.Keys)
        {
            pathObject[key] = new JsonObject { ["type"] = "string" };
        }

        pathObject["container"] = new JsonObject { ["type"] = "string" };
        pathObject["labels"] = new JsonObject { ["type"] = "object", ["additionalProperties"] = new JsonObject { ["type"] = "string" } };

        var properties = new JsonObject
        {
            ["path"] = AnyOf(
                new JsonObject { ["type"] = "string", ["description"] = TargetDescription(nameof(TargetConfig.Path)) },
                new JsonObject { ["type"] = "object", ["additionalProperties"] = false, ["properties"] = pathObject }),
            ["namespace"] = new JsonObject { ["type"] = "string", ["description"] = TargetDescription(nameof(TargetConfig.Namespace)) },
        };

        // mirrord also takes the path object's keys directly under target ({"pod": "x", "namespace": "y"}).
        foreach (var (name, value) in pathObject)
        {
            properties[name] = value!.DeepClone();
        }

        return new JsonObject
        {
            ["type"] = "object",
            ["additionalProperties"] = false,
            ["properties"] = properties,
        };
    }

    private static JsonObject AnyOf(params JsonNode[] choices) => new() { ["anyOf"] = new JsonArray(choices.Select(c => (JsonNode?)c.DeepClone()).ToArray()) };

    private static JsonObject Enum(params string[] words) =>
        new() { ["type"] = "string", ["enum"] = new JsonArray(words.Select(w => (JsonNode?)JsonValue.Create(w)).ToArray()) };

    private static string? Description(JsonPropertyInfo? property) =>
        property?.AttributeProvider?.GetCustomAttributes(typeof(DescriptionAttribute), inherit: false).OfType<DescriptionAttribute>().FirstOrDefault()?.Description;

    private static string? TargetDescription(string propertyName) =>
        typeof(TargetConfig).GetProperty(propertyName)?.GetCustomAttribute<DescriptionAttribute>()?.Description;
}
