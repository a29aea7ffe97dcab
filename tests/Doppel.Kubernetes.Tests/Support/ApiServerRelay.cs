using System.Net;
using System.Net.Sockets;
using Doppel.Linux.Namespaces;

namespace Doppel.Kubernetes.Tests.Support;

/// <summary>
/// The developer namespace's only way out: a TCP listener on 127.0.0.1:PORT inside that network
/// namespace whose connections are relayed to the API server's 127.0.0.1:PORT in this (the host's)
/// namespace, so the kubeconfig's <c>https://127.0.0.1:6443</c> works unchanged for a doppel that
/// runs in the developer namespace, while the program doppel supervises there still has no route to
/// a pod or Service. Only the API server's port is relayed; TLS passes through untouched.
/// <code>
///   [dev netns] doppel ──tcp 127.0.0.1:6443──► listener (created by a thread in the dev netns)
///        ──relay (this process)──► [host netns] 127.0.0.1:6443 kube-apiserver
/// </code>
/// </summary>
public sealed class ApiServerRelay : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly int _port;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly List<Task> _relays = [];

    private ApiServerRelay(Socket listener, int port)
    {
        _listener = listener;
        _port = port;
        _accepting = AcceptAsync();
    }

    /// <summary>Starts relaying the port of <paramref name="kubeconfig"/>'s server (https://127.0.0.1:PORT) from the namespace at <paramref name="namespacePath"/> to this namespace's.</summary>
    public static Task<ApiServerRelay> StartForAsync(string namespacePath, string kubeconfig)
    {
        var server = File.ReadLines(kubeconfig).Select(l => l.Trim()).First(l => l.StartsWith("server:", StringComparison.Ordinal));
        return StartAsync(namespacePath, new Uri(server["server:".Length..].Trim()).Port);
    }

    /// <summary>Starts relaying 127.0.0.1:<paramref name="port"/> of the namespace at <paramref name="namespacePath"/> to this namespace's.</summary>
    public static async Task<ApiServerRelay> StartAsync(string namespacePath, int port)
    {
        using var thread = NetworkNamespaceThread.Start(namespacePath, "api-relay");
        var listener = await thread.RunAsync(() =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            socket.Listen(64);
            return socket;
        });
        return new ApiServerRelay(listener, port);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _accepting;
        Task[] relays;
        lock (_relays)
        {
            relays = [.. _relays];
        }

        await Task.WhenAll(relays);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            lock (_relays)
            {
                _relays.RemoveAll(t => t.IsCompleted);
                _relays.Add(RelayAsync(client));
            }
        }
    }

    private async Task RelayAsync(Socket client)
    {
        using var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using (client)
        {
            try
            {
                await upstream.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _port), _stop.Token);
                await using var a = new NetworkStream(client, ownsSocket: false);
                await using var b = new NetworkStream(upstream, ownsSocket: false);

                // dev doppel --request bytes--> API server, and back; either end closing ends both.
                var up = CopyAsync(a, b, upstream);
                var down = CopyAsync(b, a, client);
                await Task.WhenAny(up, down);
                client.Dispose();
                upstream.Dispose();
                await Task.WhenAll(up, down);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
            {
            }
        }
    }

    private async Task CopyAsync(Stream from, Stream to, Socket toSocket)
    {
        try
        {
            await from.CopyToAsync(to, _stop.Token);
            toSocket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
        {
        }
    }
}
