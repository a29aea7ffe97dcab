using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Exceptions;
using k8s.Models;

namespace Doppel.Kubernetes;

/// <summary>
/// Requests with the API server's failures turned into one sentence (<see cref="KubeException"/>),
/// and the generic (group, version, plural) API for kinds KubernetesClient has no type for: Argo
/// Rollouts and batch/v1beta1 CronJobs (Kubernetes 1.20).
/// </summary>
internal static class KubeApi
{
    /// <summary>
    /// Runs a request; 403 becomes "not allowed to VERB RESOURCE in NAMESPACE" with the
    /// <c>kubectl auth can-i</c> line to check, connection and credential failures one sentence
    /// naming the server. 404 is returned as null (the caller names what was not found).
    /// </summary>
    public static async Task<T?> CallAsync<T>(KubeConnection connection, string verb, string resource, string? ns, Func<Task<T>> call)
        where T : class
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Forbidden)
        {
            var where = ns is null ? "in the cluster" : $"in namespace {ns}";
            var scope = ns is null ? "--all-namespaces" : $"-n {ns}";
            throw new KubeException(
                $"The context '{connection.Context}' is not allowed to {verb} {resource} {where}; check with `kubectl auth can-i {verb} {resource} {scope}`.", e);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Unauthorized)
        {
            throw new KubeException($"The API server {connection.Server} rejected the credentials of context '{connection.Context}' (401 Unauthorized); log in again or fix the user in the kubeconfig.", e);
        }
        catch (HttpOperationException e)
        {
            throw new KubeException($"The API server {connection.Server} answered {(int)e.Response.StatusCode} to {verb} {resource}: {Reason(e)}", e);
        }
        catch (HttpRequestException e)
        {
            throw new KubeException($"The API server {connection.Server} of context '{connection.Context}' cannot be reached: {Innermost(e)}", e);
        }
        catch (Exception e) when (e is KubeConfigException or KubernetesClientException)
        {
            throw new KubeException($"The credentials of context '{connection.Context}' cannot be obtained: {Innermost(e)}", e);
        }
    }

    /// <summary>The versions the server serves of API group <paramref name="group"/>, preferred first; empty when it serves none.</summary>
    public static async Task<IReadOnlyList<string>> GroupVersionsAsync(KubeConnection connection, string group, CancellationToken cancellationToken)
    {
        var groups = await CallAsync(connection, "list", "API groups", null, () => connection.Client.Apis.GetAPIVersionsAsync(cancellationToken)).ConfigureAwait(false);
        var found = groups?.Groups?.FirstOrDefault(g => g.Name == group);
        if (found is null)
        {
            return [];
        }

        var preferred = found.PreferredVersion?.Version;
        return found.Versions.Select(v => v.Version).OrderBy(v => v == preferred ? 0 : 1).ToList();
    }

    /// <summary>The objects of a namespaced resource through the generic API (their JSON).</summary>
    public static async Task<IReadOnlyList<JsonElement>> ListGenericAsync(
        KubeConnection connection, string group, string version, string plural, string ns, CancellationToken cancellationToken)
    {
        var list = await CallAsync(connection, "list", plural, ns,
            () => connection.Client.CustomObjects.ListNamespacedCustomObjectAsync(group, version, ns, plural, cancellationToken: cancellationToken)).ConfigureAwait(false);
        var json = AsJson(list);
        return json is { ValueKind: JsonValueKind.Object } && json.Value.TryGetProperty("items", out var items) && items.ValueKind == JsonValueKind.Array
            ? items.EnumerateArray().ToList()
            : [];
    }

    /// <summary>One object of a namespaced resource through the generic API; null when it does not exist.</summary>
    public static async Task<JsonElement?> GetGenericAsync(
        KubeConnection connection, string group, string version, string plural, string ns, string name, CancellationToken cancellationToken)
    {
        var item = await CallAsync(connection, "get", plural, ns,
            () => connection.Client.CustomObjects.GetNamespacedCustomObjectAsync(group, version, ns, plural, name, cancellationToken)).ConfigureAwait(false);
        return AsJson(item);
    }

    /// <summary>A label selector (<c>spec.selector</c> of a generic object) from its JSON.</summary>
    public static V1LabelSelector? SelectorFromJson(JsonElement selector)
    {
        if (selector.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var result = new V1LabelSelector();
        if (selector.TryGetProperty("matchLabels", out var labels) && labels.ValueKind == JsonValueKind.Object)
        {
            result.MatchLabels = labels.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "");
        }

        if (selector.TryGetProperty("matchExpressions", out var expressions) && expressions.ValueKind == JsonValueKind.Array)
        {
            result.MatchExpressions = expressions.EnumerateArray().Select(e => new V1LabelSelectorRequirement
            {
                Key = e.GetProperty("key").GetString(),
                OperatorProperty = e.GetProperty("operator").GetString(),
                Values = e.TryGetProperty("values", out var values) && values.ValueKind == JsonValueKind.Array
                    ? values.EnumerateArray().Select(v => v.GetString() ?? "").ToList()
                    : null,
            }).ToList();
        }

        return result;
    }

    /// <summary>
    /// A label selector in the query form (<c>app=web,tier in (a,b),!canary</c>); null when it
    /// selects nothing (no selector at all).
    /// </summary>
    public static string? SelectorString(V1LabelSelector? selector)
    {
        if (selector is null)
        {
            return null;
        }

        var parts = new List<string>();
        foreach (var (key, value) in selector.MatchLabels ?? new Dictionary<string, string>())
        {
            parts.Add($"{key}={value}");
        }

        foreach (var e in selector.MatchExpressions ?? [])
        {
            var values = string.Join(',', e.Values ?? []);
            parts.Add(e.OperatorProperty switch
            {
                "In" => $"{e.Key} in ({values})",
                "NotIn" => $"{e.Key} notin ({values})",
                "Exists" => e.Key,
                "DoesNotExist" => "!" + e.Key,
                _ => throw new KubeException($"The label selector operator '{e.OperatorProperty}' is not one Kubernetes knows (In, NotIn, Exists, DoesNotExist)."),
            });
        }

        return parts.Count == 0 ? null : string.Join(',', parts);
    }

    private static JsonElement? AsJson(object? value) => value switch
    {
        null => null,
        JsonElement element => element,
        string text => JsonDocument.Parse(text).RootElement.Clone(),
        _ => throw new InvalidOperationException($"The generic API returned a {value.GetType().Name}, not JSON."),
    };

    /// <summary>The API server's Status message of a failed request (one sentence), else the body's first line.</summary>
    internal static string Reason(HttpOperationException e)
    {
        var body = e.Response.Content;
        try
        {
            var status = KubernetesJson.Deserialize<V1Status>(body);
            if (!string.IsNullOrEmpty(status?.Message))
            {
                return status.Message.TrimEnd('.') + ".";
            }
        }
        catch (JsonException)
        {
        }

        return string.IsNullOrWhiteSpace(body) ? e.Message : body.Trim().Split('\n')[0];
    }

    /// <summary>The first line of the innermost exception's message, ending in a full stop.</summary>
    internal static string Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        var message = e.Message.Split('\n')[0].Trim();
        return message.EndsWith('.') ? message : message + ".";
    }
}
