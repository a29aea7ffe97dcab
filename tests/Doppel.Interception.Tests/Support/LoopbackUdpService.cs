using System.Net;
using System.Net.Sockets;

namespace Doppel.Interception.Tests.Support;

/// <summary>A UDP service on 127.0.0.1:0 standing in for a remote one (and its relay): answers each datagram.</summary>
internal sealed class LoopbackUdpService : IDisposable
{
    private readonly UdpClient _socket = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly CancellationTokenSource _stop = new();
    private readonly Func<byte[], byte[]?> _answer;

    public LoopbackUdpService(Func<byte[], byte[]?> answer)
    {
        _answer = answer;
        _ = LoopAsync();
    }

    public IPEndPoint EndPoint => (IPEndPoint)_socket.Client.LocalEndPoint!;

    public int Received { get; private set; }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            UdpReceiveResult datagram;
            try
            {
                datagram = await _socket.ReceiveAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }

            Received++;
            if (_answer(datagram.Buffer) is { } reply)
            {
                await _socket.SendAsync(reply, datagram.RemoteEndPoint);
            }
        }
    }

    /// <summary>A DNS server answering A queries for the given names; anything else gets an empty NOERROR answer.</summary>
    public static LoopbackUdpService Dns(IReadOnlyDictionary<string, IPAddress> records) => new(query =>
    {
        if (query.Length < 17)
        {
            return null;
        }

        var labels = new List<string>();
        var at = 12;
        while (at < query.Length && query[at] != 0)
        {
            labels.Add(System.Text.Encoding.ASCII.GetString(query, at + 1, query[at]));
            at += query[at] + 1;
        }

        var questionEnd = at + 5;
        var qtype = (query[at + 1] << 8) | query[at + 2];
        var name = string.Join('.', labels).ToLowerInvariant();
        var found = qtype == 1 && records.TryGetValue(name, out var address) ? address : null;
        var reply = new List<byte>(query[..2]) { 0x81, 0x80, 0, 1, 0, (byte)(found is null ? 0 : 1), 0, 0, 0, 0 };
        reply.AddRange(query[12..questionEnd]);
        if (found is not null)
        {
            reply.AddRange([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
            reply.AddRange(found.GetAddressBytes());
        }

        return [.. reply];
    });

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
        _stop.Dispose();
    }
}
