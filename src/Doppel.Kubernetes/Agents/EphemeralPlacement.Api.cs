using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Doppel.Kubernetes.Agents;

/// <summary>The two shapes of the <c>pods/NAME/ephemeralcontainers</c> subresource and the request for each.</summary>
public sealed partial class EphemeralPlacement
{
    /// <summary>What the server's <c>pods/ephemeralcontainers</c> subresource takes.</summary>
    public enum ApiShape
    {
        /// <summary>The server has no such subresource (feature gate EphemeralContainers off, or older than 1.16).</summary>
        None,

        /// <summary>Kubernetes 1.16–1.21: an <c>EphemeralContainers</c> object (<c>{"ephemeralContainers":[…]}</c>).</summary>
        EphemeralContainersObject,

        /// <summary>Kubernetes 1.22 and later: a Pod (<c>{"spec":{"ephemeralContainers":[…]}}</c>).</summary>
        Pod,
    }

    /// <summary>The media type of the request for each shape.</summary>
    public static string ContentType(ApiShape shape) => shape == ApiShape.Pod ? "application/strategic-merge-patch+json" : "application/json-patch+json";

    /// <summary>
    /// The shape, from discovery (<c>GET /api/v1</c>): the kind the server names for resource
    /// <c>pods/ephemeralcontainers</c>; absent means the cluster does not allow ephemeral containers.
    /// Discovery is open to every authenticated user (ClusterRole system:discovery).
    /// </summary>
    public async Task<ApiShape> ShapeAsync(CancellationToken cancellationToken)
    {
        var resources = await KubeApi.CallAsync(connection, "get", "API resources of v1", null,
            () => connection.Client.CoreV1.GetAPIResourcesAsync(cancellationToken)).ConfigureAwait(false);
        var subresource = resources?.Resources?.FirstOrDefault(r => r.Name == "pods/ephemeralcontainers");
        return subresource is null ? ApiShape.None
            : subresource.Kind == "EphemeralContainers" ? ApiShape.EphemeralContainersObject
            : ApiShape.Pod;
    }

    /// <summary>
    /// The request body that adds <paramref name="container"/> in <paramref name="shape"/>: a JSON
    /// patch appending to <c>/ephemeralContainers</c> of the EphemeralContainers object (what
    /// kubectl 1.22+ sends to older servers: no read-modify-write, so a concurrent <c>kubectl debug</c>
    /// is not lost), or a strategic-merge patch of the Pod (merged by container name).
    /// </summary>
    public static string RequestBody(ApiShape shape, V1EphemeralContainer container)
    {
        var json = KubernetesJson.Serialize(container);
        return shape == ApiShape.Pod
            ? $$$"""{"spec":{"ephemeralContainers":[{{{json}}}]}}"""
            : $$$"""[{"op":"add","path":"/ephemeralContainers/-","value":{{{json}}}}]""";
    }

    private async Task AddAsync(ApiShape shape, string ns, string pod, V1EphemeralContainer container, CancellationToken cancellationToken)
    {
        if (shape == ApiShape.None)
        {
            throw NotAllowed("the API server serves no pods/ephemeralcontainers resource: its feature gate EphemeralContainers is off");
        }

        var patch = new V1Patch(RequestBody(shape, container), shape == ApiShape.Pod ? V1Patch.PatchType.StrategicMergePatch : V1Patch.PatchType.JsonPatch);
        V1Pod? answer;
        try
        {
            // The 1.16–1.21 answer is an EphemeralContainers object, read here as a Pod with only
            // its metadata: the wait reads the pod itself.
            answer = await KubeApi.CallAsync(connection, "patch", "pods/ephemeralcontainers", ns,
                () => connection.Client.CoreV1.PatchNamespacedPodEphemeralcontainersAsync(patch, pod, ns, fieldManager: "doppel", cancellationToken: cancellationToken)).ConfigureAwait(false);
        }
        catch (KubeException e) when (e.InnerException is HttpOperationException { Response.StatusCode: HttpStatusCode.UnprocessableEntity } rejected)
        {
            throw new KubeException($"The API server rejected the agent's ephemeral container in pod {ns}/{pod} ({Message(rejected)}); run without -e (agent.ephemeral).", e);
        }

        if (answer is null)
        {
            // The pod was read a moment ago: a 404 here is the subresource, not the pod.
            throw NotAllowed($"the API server answered 404 Not Found to PATCH pods/{pod}/ephemeralcontainers");
        }
    }

    private static KubeException NotAllowed(string why)
        => new($"The cluster does not allow ephemeral containers ({why}); run without -e (agent.ephemeral).");

    private static string Message(HttpOperationException e)
    {
        try
        {
            var status = KubernetesJson.Deserialize<V1Status>(e.Response.Content);
            if (!string.IsNullOrEmpty(status?.Message))
            {
                return status.Message.TrimEnd('.');
            }
        }
        catch (System.Text.Json.JsonException)
        {
        }

        return $"{(int)e.Response.StatusCode} {e.Response.ReasonPhrase}".Trim();
    }
}
