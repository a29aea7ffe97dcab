using Doppel.Session.Remote;

namespace Doppel.Session.Tests.Remote;

public sealed class DnsQueryNameTests
{
    // RFC 1035 §4.1: id 0x1234, RD, one question: Db.Example.com A IN.
    private static readonly byte[] s_query =
    [
        0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        2, (byte)'D', (byte)'b', 7, (byte)'E', (byte)'x', (byte)'a', (byte)'m', (byte)'p', (byte)'l', (byte)'e', 3, (byte)'c', (byte)'o', (byte)'m', 0,
        0x00, 0x01, 0x00, 0x01,
    ];

    [Fact]
    public void AQuerysNameIsReadInLowerCase()
    {
        Assert.Equal("db.example.com", DnsQueryName.TryRead(s_query));
    }

    [Fact]
    public void ResponsesCutMessagesAndPointersHaveNoName()
    {
        var response = (byte[])s_query.Clone();
        response[2] |= 0x80;
        var pointer = (byte[])s_query.Clone();
        pointer[12] = 0xC0;

        Assert.Null(DnsQueryName.TryRead(response));
        Assert.Null(DnsQueryName.TryRead(s_query.AsSpan(0, 20)));
        Assert.Null(DnsQueryName.TryRead(pointer));
        Assert.Null(DnsQueryName.TryRead(s_query.AsSpan(0, 12)));
    }
}
