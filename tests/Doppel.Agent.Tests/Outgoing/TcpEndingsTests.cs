using System.Net;
using System.Security.Cryptography;
using Doppel.Protocol.V1;
using Doppel.Testing;
using Google.Protobuf;
using Grpc.Core;
using Doppel.Linux.Native;

namespace Doppel.Agent.Tests.Outgoing;

/// <summary>
/// How relayed TCP connections end, seen from the pod: a session's cancel is an RST, its
/// half-close a FIN; a pod's RST reaches the session as Errno.ECONNRESET. Plus a bulk echo that needs
/// both directions flowing at once.
/// </summary>
public sealed class TcpEndingsTests(ClusterFixture cluster) : IClassFixture<ClusterFixture>
{
    private const int WatchPort = 7101;
    private const int ResetPort = 7102;

    // watch: records whether each connection ended with "fin" or "reset"; reset: answers every connection with RST.
    private const string Script = """
        import socket, struct, sys
        port, out, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port))
        s.listen()
        while True:
            c, _ = s.accept()
            if mode == "reset":
                c.recv(16)
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                c.close()
                continue
            try:
                while c.recv(65536):
                    pass
                ending = "fin"
            except ConnectionResetError:
                ending = "reset"
            with open(out, "a") as f:
                f.write(ending + "\n")
            c.close()
        """;

    private static readonly SemaphoreSlim s_serversLock = new(1, 1);
    private static readonly Dictionary<MiniCluster, string> s_outcomes = [];

    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    [Fact]
    public async Task CancelledCallResetsThePodsConnectionAndHalfCloseSendsFin()
    {
        var outcomes = await StartServersAsync();
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.ProcessPod.Pid}", 5, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        var watch = new IPEndPoint(cluster.Backend.IP, WatchPort);

        using (var graceful = await TcpCall.ConnectAsync(channel, watch, Timeout))
        {
            await graceful.SendAsync("bye", Timeout);
            await graceful.HalfCloseAsync(Timeout);
            Assert.Equal("fin", await NextOutcomeAsync(outcomes, 1));
        }

        using var cancel = new CancellationTokenSource();
        using (var aborted = await TcpCall.ConnectAsync(channel, watch, cancel.Token))
        {
            await aborted.SendAsync("hello", Timeout);
            await cancel.CancelAsync();
            Assert.Equal("reset", await NextOutcomeAsync(outcomes, 2));
        }

        Assert.Equal(string.Empty, agent.ErrorOutput); // a cancelled call is not an error worth a log line
    }

    [Fact]
    public async Task PodResetReachesTheSessionAsEconnresetAndEndsTheCall()
    {
        await StartServersAsync();
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.ProcessPod.Pid}", 5, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        var call = new OutgoingService.OutgoingServiceClient(channel).ConnectTcp(cancellationToken: Timeout);
        await call.RequestStream.WriteAsync(new TcpClientMessage { Connect = new TcpConnect { Destination = SockAddr.FromIPEndPoint(new IPEndPoint(cluster.Backend.IP, ResetPort)) } }, Timeout);
        Assert.True(await call.ResponseStream.MoveNext(Timeout));
        Assert.Null(call.ResponseStream.Current.ConnectResult.Error);

        await call.RequestStream.WriteAsync(new TcpClientMessage { Data = ByteString.CopyFromUtf8("trigger") }, Timeout);
        Assert.True(await call.ResponseStream.MoveNext(Timeout));
        Assert.Equal(Errno.ECONNRESET, call.ResponseStream.Current.Error.Errno);
        Assert.False(await call.ResponseStream.MoveNext(Timeout));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        call.Dispose();
    }

    [Fact]
    public async Task FourMebibytesEchoBackIntactWhileBothDirectionsFlow()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.ProcessPod.Pid}", 5, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        var call = new OutgoingService.OutgoingServiceClient(channel).ConnectTcp(cancellationToken: Timeout);
        await call.RequestStream.WriteAsync(new TcpClientMessage { Connect = new TcpConnect { Destination = SockAddr.FromIPEndPoint(new IPEndPoint(cluster.Backend.IP, ClusterFixture.TcpEchoPort)) } }, Timeout);
        Assert.True(await call.ResponseStream.MoveNext(Timeout));
        Assert.Null(call.ResponseStream.Current.ConnectResult.Error);

        var payload = RandomNumberGenerator.GetBytes(4 * 1024 * 1024);
        var send = Task.Run(async () =>
        {
            for (var at = 0; at < payload.Length; at += Protocol.Relay.ChunkSize)
            {
                await call.RequestStream.WriteAsync(new TcpClientMessage { Data = ByteString.CopyFrom(payload, at, Math.Min(Protocol.Relay.ChunkSize, payload.Length - at)) }, Timeout);
            }

            await call.RequestStream.WriteAsync(new TcpClientMessage { HalfClose = new TcpHalfClose() }, Timeout);
        });
        using var received = new MemoryStream();
        while (await call.ResponseStream.MoveNext(Timeout) && call.ResponseStream.Current.MessageCase == TcpServerMessage.MessageOneofCase.Data)
        {
            Assert.InRange(call.ResponseStream.Current.Data.Length, 1, Protocol.Relay.ChunkSize);
            call.ResponseStream.Current.Data.WriteTo(received);
        }

        await send;
        Assert.Equal(TcpServerMessage.MessageOneofCase.HalfClose, call.ResponseStream.Current.MessageCase);
        Assert.Equal(SHA256.HashData(payload), SHA256.HashData(received.ToArray()));
        call.Dispose();
    }

    private async Task<string> StartServersAsync()
    {
        await s_serversLock.WaitAsync(Timeout);
        try
        {
            if (!s_outcomes.TryGetValue(cluster.Cluster, out var outcomes))
            {
                outcomes = cluster.Backend.HostPath("/endings.txt");
                Directory.CreateDirectory(Path.GetDirectoryName(outcomes)!);
                await cluster.Backend.StartAsync(PodServer.Run("watch", ["python3", "-c", Script, WatchPort.ToString(), outcomes, "watch"], WatchPort), Timeout);
                await cluster.Backend.StartAsync(PodServer.Run("reset", ["python3", "-c", Script, ResetPort.ToString(), outcomes, "reset"], ResetPort), Timeout);
                s_outcomes[cluster.Cluster] = outcomes;
            }

            return outcomes;
        }
        finally
        {
            s_serversLock.Release();
        }
    }

    private static async Task<string> NextOutcomeAsync(string path, int count)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            var lines = File.Exists(path) ? await File.ReadAllLinesAsync(path, deadline.Token) : [];
            if (lines.Length >= count)
            {
                return lines[count - 1];
            }

            await Task.Delay(50, deadline.Token);
        }
    }
}
