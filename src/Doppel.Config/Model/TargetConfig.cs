using System.ComponentModel;

namespace Doppel.Config;

/// <summary>The target, parsed: what kind of thing, which one, which container, which namespace.</summary>
public sealed record TargetConfig
{
    [Description("The target in its string form: targetless, pod/N, deployment/N, rollout/N, job/N, cronjob/N, statefulset/N, service/N, replicaset/N (each optionally /container/C), label/k=v[,k=v], pid/N or container/ID.")]
    public required string Path { get; init; }

    [Description("Namespace of the target; defaults to the kube context's namespace.")]
    public string? Namespace { get; init; }

    public required TargetKind Kind { get; init; }

    /// <summary>The resource name, the PID, or the container ID; null for targetless and label targets.</summary>
    public string? Name { get; init; }

    public string? Container { get; init; }

    /// <summary>Label selector of a <see cref="TargetKind.Label"/> target, in the order written.</summary>
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
}
