using Doppel.Protocol.V1;
using Google.Protobuf;

namespace Doppel.Protocol.Tests.Wire;

/// <summary>
/// Messages only gain fields: bytes written by an older peer (fewer fields) parse in the current
/// schema with the missing fields at their defaults, and bytes from a newer peer (unknown
/// fields) parse and survive a re-serialisation.
/// </summary>
public sealed class SchemaEvolutionTests
{
    [Fact]
    public void AnOlderClientsHelloWithFewerFieldsParses()
    {
        // A HelloRequest as a client that only knew min_version (1) and max_version (2) writes it.
        var old = Write(output =>
        {
            output.WriteTag(1, WireFormat.WireType.Varint);
            output.WriteUInt32(1);
            output.WriteTag(2, WireFormat.WireType.Varint);
            output.WriteUInt32(1);
        });

        var hello = HelloRequest.Parser.ParseFrom(old);

        Assert.Equal(1u, hello.MinVersion);
        Assert.Equal(1u, hello.MaxVersion);
        Assert.Equal("", hello.ClientVersion);
        Assert.Empty(hello.Features);
        Assert.Equal(1u, VersionNegotiation.ChooseOrThrow(hello));
    }

    [Fact]
    public void AnOlderConnectWithoutTimeoutParsesWithTheDefaultTimeout()
    {
        var destination = new SockAddr { Ip = ByteString.CopyFrom(10, 0, 0, 1), Port = 80 };
        var old = Write(output =>
        {
            output.WriteTag(1, WireFormat.WireType.LengthDelimited); // TcpClientMessage.connect
            output.WriteMessage(new TcpConnect { Destination = destination });
        });

        var message = TcpClientMessage.Parser.ParseFrom(old);

        Assert.Equal(TcpClientMessage.MessageOneofCase.Connect, message.MessageCase);
        Assert.Equal(destination, message.Connect.Destination);
        Assert.Equal(0u, message.Connect.TimeoutMs);
    }

    [Fact]
    public void ANewerPeersUnknownFieldsParseAndSurviveReserialisation()
    {
        var current = new StatResponse { Stat = new FileStat { Name = "a", Mode = 0x81A4, Size = 3 } }.ToByteArray();
        var newer = current.Concat(Write(output =>
        {
            output.WriteTag(99, WireFormat.WireType.LengthDelimited);
            output.WriteString("a field from the future");
        })).ToArray();

        var parsed = StatResponse.Parser.ParseFrom(newer);

        Assert.Equal("a", parsed.Stat.Name);
        Assert.True(parsed.Stat.IsRegularFile);
        Assert.Equal(newer, parsed.ToByteArray());
    }

    [Fact]
    public void AnUnknownEnumValueFromANewerPeerIsKept()
    {
        var newer = Write(output =>
        {
            output.WriteTag(1, WireFormat.WireType.Varint); // DnsLookupResponse.status
            output.WriteEnum(42);
        });

        var parsed = DnsLookupResponse.Parser.ParseFrom(newer);

        Assert.Equal(42, (int)parsed.Status);
        Assert.Equal(newer, parsed.ToByteArray());
    }

    private static byte[] Write(Action<CodedOutputStream> write)
    {
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        write(output);
        output.Flush();
        return buffer.ToArray();
    }
}
