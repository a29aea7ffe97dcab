using System.Text.Json.Nodes;
using Doppel.Config.Binding;

namespace Doppel.Config.Overrides;

/// <summary>Writes overrides into the object-form tree, creating the objects on the way.</summary>
internal static class OverrideApplier
{
    public static void Apply(JsonObject root, ConfigOverride change, BindContext context)
    {
        var parts = change.KeyPath.Split('.');
        var node = root;
        for (var i = 0; i < parts.Length - 1; i++)
        {
            if (node[parts[i]] is not JsonObject child)
            {
                // Absent, or a wrong type in the file: the override decides this branch now.
                child = new JsonObject();
                node[parts[i]] = child;
            }

            node = child;
        }

        node[parts[^1]] = change.Value?.DeepClone();
        context.SetOrigin(change.KeyPath, change.Origin);
    }
}
