using System.Buffers;
using System.Net;
using Doppel.Protocol.V1;
using Grpc.Core;

namespace Doppel.Protocol.Tests.EndToEnd;

/// <summary>
/// The generated code end to end: real calls of each shape (unary, bidirectional, client and
/// server streaming) between Grpc.Net.Client and Kestrel over a unix socket.
/// </summary>
public sealed class GrpcRoundTripTests
{
    private static CancellationToken WithTimeout() => new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    [Fact]
    public async Task HelloNegotiatesTheCurrentVersionAndDescribesTheTarget()
    {
        var ct = WithTimeout();
        await using var server = await TestAgentServer.StartAsync(ct);
        var client = new AgentService.AgentServiceClient(server.Channel);

        var response = await client.HelloAsync(
            new HelloRequest
            {
                MinVersion = ProtocolVersion.MinimumSupported,
                MaxVersion = ProtocolVersion.Current + 5,
                ClientVersion = "test-client",
                Features = { ProtocolFeatures.OutgoingTcp, "teleport" },
            },
            cancellationToken: ct);

        Assert.Equal(ProtocolVersion.Current, response.Version);
        Assert.True(VersionNegotiation.IsAcceptable(response.Version, ProtocolVersion.MinimumSupported, ProtocolVersion.Current + 5));
        Assert.Equal("test-agent", response.AgentVersion);
        Assert.Equal(4242, response.Target.Pid);
        Assert.Equal("bff-7d9f8", response.Target.Hostname);
        Assert.Equal([ProtocolFeatures.OutgoingTcp], response.Features);
    }

    [Fact]
    public async Task HelloWithoutACommonVersionFailsWithFailedPrecondition()
    {
        var ct = WithTimeout();
        await using var server = await TestAgentServer.StartAsync(ct);
        var client = new AgentService.AgentServiceClient(server.Channel);

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await client.HelloAsync(new HelloRequest { MinVersion = ProtocolVersion.Current + 1, MaxVersion = ProtocolVersion.Current + 2 }, cancellationToken: ct));

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.StartsWith("No common protocol version", error.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("The agent is older than the doppel CLI", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TcpStreamConnectsRelaysPooledChunksBothWaysAndHalfCloses()
    {
        var ct = WithTimeout();
        await using var server = await TestAgentServer.StartAsync(ct);
        var client = new OutgoingService.OutgoingServiceClient(server.Channel);
        var destination = new IPEndPoint(IPAddress.Parse("10.96.0.12"), 8080);
        const int chunks = 16;

        using var call = client.ConnectTcp(cancellationToken: ct);
        await call.RequestStream.WriteAsync(new TcpClientMessage { Connect = new TcpConnect { Destination = SockAddr.FromIPEndPoint(destination), TimeoutMs = 1000 } }, ct);
        Assert.True(await call.ResponseStream.MoveNext(ct));
        var connected = call.ResponseStream.Current;
        Assert.Equal(TcpServerMessage.MessageOneofCase.ConnectResult, connected.MessageCase);
        Assert.Null(connected.ConnectResult.Error);
        Assert.Equal(destination, connected.ConnectResult.RemoteAddress.ToIPEndPoint());

        // session --app bytes--> agent: one pooled buffer, reused only after each write completed.
        var send = Task.Run(
            async () =>
            {
                var buffer = ArrayPool<byte>.Shared.Rent(Relay.ChunkSize);
                try
                {
                    for (var i = 0; i < chunks; i++)
                    {
                        buffer.AsSpan(0, Relay.ChunkSize).Fill((byte)i);
                        await call.RequestStream.WriteAsync(new TcpClientMessage { Data = Relay.Wrap(buffer, Relay.ChunkSize) }, ct);
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }

                await call.RequestStream.WriteAsync(new TcpClientMessage { HalfClose = new TcpHalfClose() }, ct);
                await call.RequestStream.CompleteAsync();
            },
            ct);

        // agent --pod bytes--> session
        using var received = new MemoryStream();
        var halfClosed = false;
        while (await call.ResponseStream.MoveNext(ct))
        {
            var message = call.ResponseStream.Current;
            if (message.MessageCase == TcpServerMessage.MessageOneofCase.HalfClose)
            {
                halfClosed = true;
                continue;
            }

            Assert.False(halfClosed, "No data may follow half_close.");
            Assert.Equal(TcpServerMessage.MessageOneofCase.Data, message.MessageCase);
            Assert.InRange(message.Data.Length, 1, Relay.ChunkSize);
            received.Write(message.Data.Span);
        }

        await send;
        Assert.True(halfClosed);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        var bytes = received.ToArray();
        Assert.Equal(chunks * Relay.ChunkSize, bytes.Length);
        for (var i = 0; i < chunks; i++)
        {
            Assert.True(bytes.AsSpan(i * Relay.ChunkSize, Relay.ChunkSize).IndexOfAnyExcept((byte)i) < 0, $"chunk {i} was corrupted");
        }
    }

    [Fact]
    public async Task UdpFlowCarriesDatagramsWithTheirPeerUntilTheSessionCompletes()
    {
        var ct = WithTimeout();
        await using var server = await TestAgentServer.StartAsync(ct);
        var client = new OutgoingService.OutgoingServiceClient(server.Channel);
        var dns = new IPEndPoint(IPAddress.Parse("10.96.0.10"), 53);

        using var call = client.OpenUdp(cancellationToken: ct);
        await call.RequestStream.WriteAsync(new UdpClientMessage { Open = new UdpOpen { Family = IpFamily.V4, Destination = SockAddr.FromIPEndPoint(dns) } }, ct);
        Assert.True(await call.ResponseStream.MoveNext(ct));
        Assert.Null(call.ResponseStream.Current.OpenResult.Error);
        Assert.Equal(53_000u, call.ResponseStream.Current.OpenResult.LocalAddress.Port);

        string[] queries = ["first", "second", ""];
        foreach (var query in queries)
        {
            await call.RequestStream.WriteAsync(new UdpClientMessage { Datagram = new UdpDatagram { Data = Google.Protobuf.ByteString.CopyFromUtf8(query) } }, ct);
            Assert.True(await call.ResponseStream.MoveNext(ct));
            var answer = call.ResponseStream.Current.Datagram;
            Assert.Equal(dns, answer.Peer.ToIPEndPoint());
            Assert.Equal(query, answer.Data.ToStringUtf8());
        }

        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(ct));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task TcpConnectFailureCarriesTheErrno()
    {
        var ct = WithTimeout();
        await using var server = await TestAgentServer.StartAsync(ct);
        var client = new OutgoingService.OutgoingServiceClient(server.Channel);

        using var call = client.ConnectTcp(cancellationToken: ct);
        await call.RequestStream.WriteAsync(
            new TcpClientMessage { Connect = new TcpConnect { Destination = SockAddr.FromIPEndPoint(new IPEndPoint(IPAddress.Loopback, EchoOutgoingService.RefusedPort)) } }, ct);
        Assert.True(await call.ResponseStream.MoveNext(ct));
        var result = call.ResponseStream.Current.ConnectResult;

        Assert.Equal(EchoOutgoingService.Econnrefused, result.Error.Errno);
        Assert.Null(result.LocalAddress);
        Assert.False(await call.ResponseStream.MoveNext(ct));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task AFileWrittenInChunksReadsBackInChunksFromAnOffset()
    {
        var ct = WithTimeout();
        await using var server = await TestAgentServer.StartAsync(ct);
        var client = new FileService.FileServiceClient(server.Channel);
        var path = $"/app/{Guid.NewGuid():N}.bin";
        var content = new byte[(3 * Relay.ChunkSize) + 123];
        new Random(7).NextBytes(content);

        using (var write = client.WriteFile(cancellationToken: ct))
        {
            await write.RequestStream.WriteAsync(new WriteFileRequest { Open = new WriteFileOpen { Path = path, Mode = 0x1A4, Create = true, Truncate = true } }, ct);
            foreach (var chunk in content.Chunk(Relay.ChunkSize))
            {
                await write.RequestStream.WriteAsync(new WriteFileRequest { Data = Relay.Wrap(chunk) }, ct);
            }

            await write.RequestStream.CompleteAsync();
            var written = await write;
            Assert.Null(written.Error);
            Assert.Equal((ulong)content.Length, written.BytesWritten);
            Assert.True(written.Stat.IsRegularFile);
        }

        using var read = client.ReadFile(new ReadFileRequest { Path = path, Offset = 100 }, cancellationToken: ct);
        using var received = new MemoryStream();
        FileStat? stat = null;
        await foreach (var chunk in read.ResponseStream.ReadAllAsync(ct))
        {
            Assert.Null(chunk.Error);
            stat ??= chunk.Stat;
            Assert.InRange(chunk.Data.Length, 0, Relay.ChunkSize);
            received.Write(chunk.Data.Span);
        }

        Assert.Equal((ulong)content.Length, stat?.Size);
        Assert.Equal(content.AsSpan(100).ToArray(), received.ToArray());
    }

    [Fact]
    public async Task ReadingAMissingFileAnswersEnoent()
    {
        var ct = WithTimeout();
        await using var server = await TestAgentServer.StartAsync(ct);
        var client = new FileService.FileServiceClient(server.Channel);

        using var read = client.ReadFile(new ReadFileRequest { Path = "/nowhere" }, cancellationToken: ct);
        var messages = await read.ResponseStream.ReadAllAsync(ct).ToListAsync(ct);

        var only = Assert.Single(messages);
        Assert.Equal(InMemoryFileService.Enoent, only.Error.Errno);
    }
}
