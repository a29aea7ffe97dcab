using System.Net;
using Doppel.Config.Filters;

namespace Doppel.Config.Tests.Filters;

public sealed class AddressFilterParserTests
{
    [Theory]
    [InlineData("127.0.0.1/8", "127.0.0.0/8")]
    [InlineData("10.1.2.3/16", "10.1.0.0/16")]
    [InlineData("tcp://192.168.7.9/24:5432", "192.168.7.0/24")]
    [InlineData("10.0.0.0/8", "10.0.0.0/8")]
    [InlineData("fd00::1/8", "fd00::/8")]
    [InlineData("[2001:db8::7/32]:443", "2001:db8::/32")]
    [InlineData("1.2.3.4/32", "1.2.3.4/32")]
    [InlineData("1.2.3.4/0", "0.0.0.0/0")]
    public void NetworkWithHostBitsSetIsTheNetworkItNames(string text, string network)
    {
        var filter = AddressFilterParser.TryParse(text, out var error);

        Assert.Null(error);
        Assert.Equal(IPNetwork.Parse(network), filter!.Network);
        Assert.True(filter.Network!.Value.Contains(IPAddress.Parse(network.Split('/')[0])));
    }

    [Theory]
    [InlineData("10.0.0.0/33")]
    [InlineData("fd00::/129")]
    [InlineData("10.0.0.0/x")]
    [InlineData("10.0.0/8")]
    [InlineData("10.0.0.0/-1")]
    public void InvalidNetworkIsAnError(string text)
    {
        Assert.Null(AddressFilterParser.TryParse(text, out var error));
        Assert.Contains("is not a valid network", error, StringComparison.Ordinal);
    }

    [Fact]
    public void NetworkWithHostBitsInAFileLoads()
    {
        var filter = Assert.Single(Support.Load.Text("""{"feature": {"network": {"outgoing": {"filter": {"local": ["127.0.0.1/8"]}}}}}""").Config.Feature.Network.Outgoing.Filter!.Parsed);

        Assert.True(filter.Network!.Value.Contains(IPAddress.Parse("127.4.5.6")));
        Assert.Equal("127.0.0.1/8", filter.Text);
    }
}
