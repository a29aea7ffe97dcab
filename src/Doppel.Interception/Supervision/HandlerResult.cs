using Doppel.Linux.Seccomp;

namespace Doppel.Interception.Supervision;

/// <summary>What a handler decided: a response to send, or nothing because it answered already (ADDFD with SEND).</summary>
internal readonly record struct HandlerResult(SeccompResponse? Response)
{
    public static HandlerResult Answered => default;

    public static implicit operator HandlerResult(SeccompResponse response) => new(response);
}
