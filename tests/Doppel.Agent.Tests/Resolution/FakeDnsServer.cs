using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Doppel.Linux.Namespaces;

namespace Doppel.Agent.Tests.Resolution;

/// <summary>
/// A nameserver on 127.0.0.1:53 of a test's own namespace that answers every UDP question with TC
/// set and no records, and the same question over TCP with one A record: only a resolver that
/// falls back to TCP gets the address.
/// </summary>
internal sealed class FakeDnsServer : IDisposable
{
    private readonly Socket _udp;
    private readonly Socket _tcp;
    private readonly CancellationTokenSource _stop = new();
    private readonly IPAddress _answer;
    private int _udpQuestions;
    private int _tcpQuestions;

    private FakeDnsServer(Socket udp, Socket tcp, IPAddress answer)
    {
        _udp = udp;
        _tcp = tcp;
        _answer = answer;
        _ = ServeUdpAsync();
        _ = ServeTcpAsync();
    }

    public int UdpQuestions => Volatile.Read(ref _udpQuestions);

    public int TcpQuestions => Volatile.Read(ref _tcpQuestions);

    public static async Task<FakeDnsServer> StartAsync(NetworkNamespaceThread ns, IPAddress answer)
    {
        var udp = await ns.RunAsync(() => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        var tcp = await ns.RunAsync(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        udp.Bind(new IPEndPoint(IPAddress.Loopback, 53));
        tcp.Bind(new IPEndPoint(IPAddress.Loopback, 53));
        tcp.Listen();
        return new FakeDnsServer(udp, tcp, answer);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _udp.Dispose();
        _tcp.Dispose();
        _stop.Dispose();
    }

    private async Task ServeUdpAsync()
    {
        var buffer = new byte[512];
        try
        {
            while (true)
            {
                var received = await _udp.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
                Interlocked.Increment(ref _udpQuestions);
                await _udp.SendToAsync(Answer(buffer.AsSpan(0, received.ReceivedBytes), truncated: true), received.RemoteEndPoint, _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    private async Task ServeTcpAsync()
    {
        try
        {
            while (true)
            {
                using var connection = await _tcp.AcceptAsync(_stop.Token);
                var length = new byte[2];
                await connection.ReceiveAsync(length, _stop.Token);
                var query = new byte[BinaryPrimitives.ReadUInt16BigEndian(length)];
                for (var read = 0; read < query.Length;)
                {
                    read += await connection.ReceiveAsync(query.AsMemory(read), _stop.Token);
                }

                Interlocked.Increment(ref _tcpQuestions);
                var answer = Answer(query, truncated: false);
                var framed = new byte[2 + answer.Length];
                BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)answer.Length);
                answer.CopyTo(framed, 2);
                await connection.SendAsync(framed, _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    // Header (id copied, QR RD RA, TC when truncated), the question as asked, and for an A question
    // over TCP one record pointing back at the question's name.
    private byte[] Answer(ReadOnlySpan<byte> query, bool truncated)
    {
        var isA = BinaryPrimitives.ReadUInt16BigEndian(query[^4..]) == 1;
        var record = !truncated && isA;
        var response = new List<byte>(query.ToArray());
        response[2] = (byte)(0x81 | (truncated ? 0x02 : 0));
        response[3] = 0x80;
        response[7] = (byte)(record ? 1 : 0);
        if (record)
        {
            response.AddRange([0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
            response.AddRange(_answer.GetAddressBytes());
        }

        return [.. response];
    }
}
