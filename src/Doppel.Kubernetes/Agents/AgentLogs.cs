using System.Net;
using k8s;
using k8s.Autorest;

namespace Doppel.Kubernetes.Agents;

/// <summary>An agent container's log as the placements read it while they wait for "listening on".</summary>
internal static class AgentLogs
{
    /// <summary>
    /// The container's log so far (<c>GET pods/NAME/log?container=C</c>); null when the context may
    /// not read pod logs (403) or the pod is gone (404); empty while the container is still waiting
    /// to start (400 "container … is waiting to start").
    /// </summary>
    public static async Task<string?> ReadAsync(KubeConnection connection, string ns, string pod, string container, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await connection.Client.CoreV1.ReadNamespacedPodLogAsync(pod, ns, container: container, cancellationToken: cancellationToken).ConfigureAwait(false);
            using var reader = new StreamReader(stream);
            return await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.BadRequest)
        {
            return string.Empty;
        }
    }
}
