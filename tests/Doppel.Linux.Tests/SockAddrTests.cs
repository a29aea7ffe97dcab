using System.Net;
using Doppel.Linux.Sockets;

namespace Doppel.Linux.Tests;

public sealed class SockAddrTests
{
    [Theory]
    [InlineData("192.0.2.10", 80, 2)]
    [InlineData("2001:db8::10", 443, 10)]
    [InlineData("192.0.2.10", 8080, 10)]
    public void FormattedAddressParsesBackToTheSameEndpoint(string address, int port, int family)
    {
        var endPoint = new IPEndPoint(IPAddress.Parse(address), port);

        var raw = SockAddr.Format(endPoint, family);

        Assert.NotNull(raw);
        Assert.Equal(family == 2 ? 16 : 28, raw.Length);
        Assert.Equal(endPoint, SockAddr.Parse(raw));
    }

    [Fact]
    public void Ipv4MappedIpv6ParsesAsIpv4()
    {
        var raw = SockAddr.Format(new IPEndPoint(IPAddress.Parse("::ffff:192.0.2.9"), 53), 10)!;

        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.9"), 53), SockAddr.Parse(raw));
    }

    [Fact]
    public void Ipv6CannotBeFormattedForAnIpv4Socket()
        => Assert.Null(SockAddr.Format(new IPEndPoint(IPAddress.IPv6Loopback, 1), 2));

    [Fact]
    public void OtherFamiliesAndShortBuffersAreNotParsed()
    {
        Assert.Null(SockAddr.Parse([1, 0, (byte)'/', (byte)'x', 0]));
        Assert.Null(SockAddr.Parse([2, 0, 0, 80, 127, 0]));
        Assert.Null(SockAddr.Parse([]));
    }
}
