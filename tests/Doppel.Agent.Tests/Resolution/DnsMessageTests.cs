using System.Net;
using Doppel.Agent.Resolution;

namespace Doppel.Agent.Tests.Resolution;

/// <summary>The DNS wire format: queries as dig would send them, responses with compression and CNAME chains.</summary>
public sealed class DnsMessageTests
{
    [Fact]
    public void QueryHasRecursionDesiredOneQuestionAndLengthPrefixedLabels()
    {
        Assert.True(DnsMessage.TryEncodeQuery(0xBEEF, "db.default.", DnsMessage.TypeAaaa, out var query));

        Assert.Equal(
            Convert.FromHexString("BEEF01000001000000000000" + "02" + "6462" + "07" + "64656661756C74" + "00" + "001C0001"),
            query);
    }

    [Fact]
    public void OverlongLabelsCannotBeAsked()
    {
        Assert.False(DnsMessage.TryEncodeQuery(1, new string('a', 64) + ".example", DnsMessage.TypeA, out _));
        Assert.False(DnsMessage.TryEncodeQuery(1, "a..b", DnsMessage.TypeA, out _));
    }

    [Fact]
    public void ResponseFollowsCompressedCnameChainToTheAddresses()
    {
        // www.example → (CNAME) web.example → 10.0.0.7 and 10.0.0.8; an unrelated A record is ignored.
        var response = Convert.FromHexString(
            "12348180000100040000000003777777076578616D706C650000010001"
            + "C00C000500010000003C0006" + "03776562C010"
            + "C029000100010000003C0004" + "0A000007"
            + "C029000100010000003C0004" + "0A000008"
            + "C010000100010000003C0004" + "0A000009");

        var answer = DnsMessage.ParseResponse(response, 0x1234, "www.example", DnsMessage.TypeA);

        Assert.NotNull(answer);
        Assert.Equal(DnsAnswer.NoError, answer.ResponseCode);
        Assert.False(answer.Truncated);
        Assert.Equal("web.example", answer.CanonicalName);
        Assert.Equal([IPAddress.Parse("10.0.0.7"), IPAddress.Parse("10.0.0.8")], answer.Addresses);
    }

    [Fact]
    public void NxdomainTruncationAndForeignAnswersAreRecognised()
    {
        var header = "00010000000000000377777707657861";
        var nxdomain = Convert.FromHexString("1234818300010000000000000377777707" + "6578616D706C650000010001");
        var truncated = Convert.FromHexString("1234838000010000000000000377777707" + "6578616D706C650000010001");

        Assert.Equal(DnsAnswer.NameError, DnsMessage.ParseResponse(nxdomain, 0x1234, "www.example", DnsMessage.TypeA)!.ResponseCode);
        Assert.True(DnsMessage.ParseResponse(truncated, 0x1234, "www.example", DnsMessage.TypeA)!.Truncated);
        Assert.Null(DnsMessage.ParseResponse(nxdomain, 0x4321, "www.example", DnsMessage.TypeA)); // another id
        Assert.Null(DnsMessage.ParseResponse(nxdomain, 0x1234, "db.example", DnsMessage.TypeA)); // another question
        Assert.Null(DnsMessage.ParseResponse(Convert.FromHexString(header), 0x0001, "www.example", DnsMessage.TypeA)); // cut short / not a response
    }
}
