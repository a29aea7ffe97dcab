namespace Doppel.Testing;

/// <summary>
/// What a mini-cluster pod is made of. Collections are filled with initializers:
/// <code>new PodSpec("backend") { Env = { ["GREETING"] = "hi" }, Servers = { PodServer.Http(8080) } }</code>
/// </summary>
public sealed class PodSpec(string name)
{
    /// <summary>A DNS label (lowercase letters, digits, '-'), unique in the cluster.</summary>
    public string Name { get; } = name;

    /// <summary>The Kubernetes namespace: it decides the service name and the resolv.conf search line.</summary>
    public string Namespace { get; init; } = "default";

    /// <summary>The service that resolves to this pod (<c>SERVICE.NAMESPACE.svc.cluster.local</c>); defaults to the pod name, empty for none.</summary>
    public string? Service { get; init; }

    public PodRuntime Runtime { get; init; } = PodRuntime.Process;

    /// <summary>The pod's environment variables, added to PATH, HOSTNAME and HOME (which they may override).</summary>
    public Dictionary<string, string> Env { get; } = new(StringComparer.Ordinal);

    /// <summary>Files by absolute path in the pod, with their contents.</summary>
    public Dictionary<string, string> Files { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The pod's processes, started in order. A container pod's first server is the container's
    /// main process (without servers the container runs <c>sleep</c>).
    /// </summary>
    public List<PodServer> Servers { get; } = [];
}
