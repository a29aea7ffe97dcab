namespace Doppel.Kubernetes.Agents;

/// <summary>
/// How sessions find and join an agent another session placed (issue 12, DESIGN.md "Kubernetes
/// placement": one agent per target pod, shared by every developer's session, guarded by a token).
/// <code>
///   Job + its pod      labels   app.kubernetes.io/managed-by=doppel, app.kubernetes.io/name=doppel-agent,
///                               doppel.dev/target-pod-uid=UID, doppel.dev/protocol=N
///                      annotations doppel.dev/target=NS/POD/CONTAINER, doppel.dev/target-path=deployment/bff
///   Secret (same name as the Job, owned by it)   data.token = 32 random bytes, base64url
///   agent container    env DOPPEL_AGENT_TOKEN from that Secret (secretKeyRef)
///   every gRPC call    metadata doppel-agent-token: TOKEN (a call without it or with another is UNAUTHENTICATED)
/// </code>
/// Label values follow Kubernetes' rules (≤ 63 characters of [A-Za-z0-9-_.]), which is why the
/// target's path and name are annotations.
/// </summary>
public static class AgentSharing
{
    /// <summary>Label: the UID of the target pod the agent serves (a Job agent; absent for targetless and ephemeral agents).</summary>
    public const string TargetPodUidLabel = "doppel.dev/target-pod-uid";

    /// <summary>Label: the protocol version the agent speaks (<c>Doppel.Protocol.ProtocolVersion.Current</c>); a session joins only an agent whose range overlaps its own.</summary>
    public const string ProtocolLabel = "doppel.dev/protocol";

    /// <summary>Annotation: the target pod as <c>NAMESPACE/POD/CONTAINER</c>.</summary>
    public const string TargetAnnotation = "doppel.dev/target";

    /// <summary>Annotation: the target path the first session gave (<c>deployment/bff</c>), for <c>doppel status</c>.</summary>
    public const string TargetPathAnnotation = "doppel.dev/target-path";

    /// <summary>The key of the token in the agent's Secret.</summary>
    public const string TokenSecretKey = "token";

    /// <summary>The environment variable the agent reads its token from (set from the Secret); unset: no token is required (local agents).</summary>
    public const string TokenVariable = "DOPPEL_AGENT_TOKEN";

    /// <summary>The gRPC metadata key every call to a cluster agent carries its token in (lower case, as HTTP/2 requires).</summary>
    public const string TokenMetadataKey = "doppel-agent-token";
}
