using Doppel.Protocol.V1;
using Grpc.Core;

namespace Doppel.Protocol.Tests.Versioning;

public sealed class VersionNegotiationTests
{
    [Theory]
    [InlineData(1u, 1u, 1u, 1u, 1u)]
    [InlineData(1u, 3u, 1u, 2u, 2u)] // newer client, older agent: the agent's newest
    [InlineData(1u, 2u, 1u, 3u, 2u)] // older client, newer agent: the client's newest
    [InlineData(2u, 5u, 1u, 4u, 4u)]
    [InlineData(3u, 3u, 1u, 3u, 3u)]
    [InlineData(1u, 3u, 3u, 7u, 3u)] // ranges touch at one version
    public void ChoosesTheHighestVersionBothSpeak(uint clientMin, uint clientMax, uint agentMin, uint agentMax, uint expected) =>
        Assert.Equal(expected, VersionNegotiation.Choose(clientMin, clientMax, agentMin, agentMax));

    [Theory]
    [InlineData(1u, 1u, 2u, 3u)] // client too old
    [InlineData(4u, 5u, 1u, 3u)] // agent too old
    [InlineData(3u, 1u, 1u, 5u)] // empty client range
    [InlineData(1u, 5u, 4u, 2u)] // empty agent range
    [InlineData(0u, 0u, 1u, 1u)] // an unset HelloRequest
    public void ChoosesNothingWhenTheRangesDoNotOverlap(uint clientMin, uint clientMax, uint agentMin, uint agentMax) =>
        Assert.Null(VersionNegotiation.Choose(clientMin, clientMax, agentMin, agentMax));

    [Fact]
    public void ThisBuildNegotiatesItsCurrentVersionWithItself()
    {
        Assert.True(ProtocolVersion.MinimumSupported <= ProtocolVersion.Current);
        var request = new HelloRequest { MinVersion = ProtocolVersion.MinimumSupported, MaxVersion = ProtocolVersion.Current };

        var chosen = VersionNegotiation.ChooseOrThrow(request);

        Assert.Equal(ProtocolVersion.Current, chosen);
        Assert.True(VersionNegotiation.IsAcceptable(chosen));
    }

    [Fact]
    public void NoCommonVersionIsAFailedPreconditionThatSaysWhichSideToUpgrade()
    {
        var request = new HelloRequest { MinVersion = 1, MaxVersion = 1 };

        var error = Assert.Throws<RpcException>(() => VersionNegotiation.ChooseOrThrow(request, agentMin: 2, agentMax: 3));

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Equal(
            "No common protocol version: the client speaks version 1, the agent speaks versions 2 to 3. " +
            "The doppel CLI is older than the agent: upgrade doppel, or use an agent image that matches its version.",
            error.Status.Detail);
    }

    [Fact]
    public void AnOlderAgentIsNamedAsTheSideToUpgrade() =>
        Assert.Contains(
            "The agent is older than the doppel CLI",
            VersionNegotiation.DescribeMismatch(clientMin: 3, clientMax: 4, agentMin: 1, agentMax: 2),
            StringComparison.Ordinal);

    [Theory]
    [InlineData(0u, false)]
    [InlineData(ProtocolVersion.Current, true)]
    [InlineData(ProtocolVersion.Current + 1, false)]
    public void TheClientAcceptsOnlyAVersionItOffered(uint chosen, bool acceptable) =>
        Assert.Equal(acceptable, VersionNegotiation.IsAcceptable(chosen));
}
