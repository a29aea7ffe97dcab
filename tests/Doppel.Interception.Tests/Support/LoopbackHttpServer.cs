using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Doppel.Interception.Tests.Support;

/// <summary>A tiny HTTP/1.1 server on 127.0.0.1:0 standing in for a remote service.</summary>
internal sealed class LoopbackHttpServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly string _body;

    public LoopbackHttpServer(string body)
    {
        _body = body;
        _listener.Start();
        _ = AcceptLoopAsync();
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    public ConcurrentQueue<IPEndPoint> Peers { get; } = new();

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }

            Peers.Enqueue((IPEndPoint)client.Client.RemoteEndPoint!);
            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            var stream = client.GetStream();
            var buffer = new byte[8192];
            var got = 0;
            while (got < buffer.Length)
            {
                var n = await stream.ReadAsync(buffer.AsMemory(got));
                if (n <= 0)
                {
                    return;
                }

                got += n;
                if (Encoding.ASCII.GetString(buffer, 0, got).Contains("\r\n\r\n"))
                {
                    break;
                }
            }

            var response = $"HTTP/1.1 200 OK\r\nContent-Length: {Encoding.UTF8.GetByteCount(_body)}\r\nConnection: close\r\n\r\n{_body}";
            await stream.WriteAsync(Encoding.UTF8.GetBytes(response));
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
    }
}
