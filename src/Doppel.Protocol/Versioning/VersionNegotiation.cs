using System.Globalization;
using Doppel.Protocol.V1;
using Grpc.Core;

namespace Doppel.Protocol;

/// <summary>
/// The version choice made by <c>AgentService.Hello</c>: the highest version inside both the
/// client's and the agent's inclusive ranges. The agent answers FAILED_PRECONDITION when there is
/// none; the client checks that the answer lies in its own range.
/// </summary>
public static class VersionNegotiation
{
    /// <summary>The highest version both ranges contain, or null when they do not overlap (or a range is empty: min &gt; max).</summary>
    public static uint? Choose(uint clientMin, uint clientMax, uint agentMin, uint agentMax)
    {
        if (clientMin > clientMax || agentMin > agentMax)
        {
            return null;
        }

        var low = Math.Max(clientMin, agentMin);
        var high = Math.Min(clientMax, agentMax);
        return low <= high ? high : null;
    }

    /// <summary>
    /// Agent side: the version to answer <paramref name="request"/> with, given the agent's range
    /// (this build's by default); throws the FAILED_PRECONDITION <see cref="RpcException"/> to
    /// end the call with when there is no common version.
    /// </summary>
    public static uint ChooseOrThrow(
        HelloRequest request,
        uint agentMin = ProtocolVersion.MinimumSupported,
        uint agentMax = ProtocolVersion.Current)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Choose(request.MinVersion, request.MaxVersion, agentMin, agentMax)
            ?? throw new RpcException(new Status(
                StatusCode.FailedPrecondition,
                DescribeMismatch(request.MinVersion, request.MaxVersion, agentMin, agentMax)));
    }

    /// <summary>Client side: whether the agent's chosen version is one the client offered.</summary>
    public static bool IsAcceptable(uint chosen, uint clientMin = ProtocolVersion.MinimumSupported, uint clientMax = ProtocolVersion.Current) =>
        chosen >= clientMin && chosen <= clientMax;

    /// <summary>One sentence naming both ranges and which side to upgrade.</summary>
    public static string DescribeMismatch(uint clientMin, uint clientMax, uint agentMin, uint agentMax)
    {
        var advice = clientMax < agentMin
            ? "The doppel CLI is older than the agent: upgrade doppel, or use an agent image that matches its version."
            : agentMax < clientMin
                ? "The agent is older than the doppel CLI: use the agent image that matches this doppel version (agent.image)."
                : "One side sent an empty version range; both sides must be valid doppel builds.";
        return string.Format(
            CultureInfo.InvariantCulture,
            "No common protocol version: the client speaks {0}, the agent speaks {1}. {2}",
            Range(clientMin, clientMax),
            Range(agentMin, agentMax),
            advice);
    }

    private static string Range(uint min, uint max) =>
        min == max
            ? string.Create(CultureInfo.InvariantCulture, $"version {min}")
            : string.Create(CultureInfo.InvariantCulture, $"versions {min} to {max}");
}
