using System.Net;
using Doppel.Protocol.V1;
using Google.Protobuf;

namespace Doppel.Protocol.Tests.Wire;

public sealed class ConversionTests
{
    [Theory]
    [InlineData("10.96.0.12", 80)]
    [InlineData("::1", 65535)]
    [InlineData("::ffff:10.0.0.1", 443)]
    [InlineData("fe80::1%3", 53)]
    public void SockAddrRoundTripsAnIPEndPoint(string address, int port)
    {
        var endPoint = new IPEndPoint(IPAddress.Parse(address), port);

        var back = SockAddr.FromIPEndPoint(endPoint).ToIPEndPoint();

        Assert.Equal(endPoint, back);
        if (endPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            Assert.Equal(endPoint.Address.ScopeId, back.Address.ScopeId);
        }
    }

    [Fact]
    public void AnIPv4MappedAddressKeepsItsSixteenBytes() =>
        Assert.Equal(16, SockAddr.FromIPEndPoint(new IPEndPoint(IPAddress.Parse("::ffff:10.0.0.1"), 1)).Ip.Length);

    [Fact]
    public void AMalformedSockAddrIsAFormatError()
    {
        Assert.Throws<FormatException>(() => new SockAddr { Ip = ByteString.CopyFrom(1, 2, 3), Port = 1 }.ToIPEndPoint());
        Assert.Throws<FormatException>(() => new SockAddr { Ip = ByteString.CopyFrom(1, 2, 3, 4), Port = 70000 }.ToIPEndPoint());
    }

    [Theory]
    [InlineData(0L, 0u)]
    [InlineData(1_700_000_000L, 123_456_700u)]
    [InlineData(-1L, 999_999_900u)] // 100 ns before the epoch
    [InlineData(-86_400L, 500_000_000u)]
    public void TimespecRoundTripsADateTimeOffsetAt100NanosecondPrecision(long seconds, uint nanoseconds)
    {
        var time = new Timespec { Seconds = seconds, Nanoseconds = nanoseconds };

        var back = Timespec.FromDateTimeOffset(time.ToDateTimeOffset());

        Assert.Equal(time, back);
    }

    [Fact]
    public void TimespecTruncatesNanosecondsBelow100AndClampsTheRange()
    {
        Assert.Equal(DateTimeOffset.UnixEpoch.AddTicks(1), new Timespec { Seconds = 0, Nanoseconds = 199 }.ToDateTimeOffset());
        Assert.Equal(DateTimeOffset.MaxValue, new Timespec { Seconds = long.MaxValue }.ToDateTimeOffset());
        Assert.Equal(DateTimeOffset.MinValue, new Timespec { Seconds = long.MinValue }.ToDateTimeOffset());
    }

    [Fact]
    public void FileStatReadsTheTypeAndPermissionBitsOfMode()
    {
        var directory = new FileStat { Mode = 0x41ED }; // S_IFDIR | 0755
        var link = new FileStat { Mode = 0xA1FF };      // S_IFLNK | 0777

        Assert.True(directory.IsDirectory);
        Assert.False(directory.IsRegularFile);
        Assert.Equal(0x1EDu, directory.Permissions);
        Assert.True(link.IsSymlink);
    }

    [Fact]
    public void RelayWrapAliasesThePooledBufferInsteadOfCopying()
    {
        var buffer = new byte[Relay.ChunkSize];
        buffer[0] = 1;

        var wrapped = Relay.Wrap(buffer, 10);
        buffer[0] = 2; // what the ownership rule forbids before the write completes: the message sees it

        Assert.Equal(10, wrapped.Length);
        Assert.Equal(2, wrapped.Span[0]);
    }
}
