using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Doppel.Kubernetes.Tests.Agent;

/// <summary>
/// A stand-in for a Kubernetes API server newer than the test cluster's (1.22+), serving
/// recorded answers over plain HTTP/1.1 on 127.0.0.1:0 and recording every request. Only for API
/// shapes the real test cluster (1.20) does not have; everything else is tested against the real one.
/// <code>await using var server = RecordedApiServer.Start(request => (200, json)); // server.Url, server.Requests</code>
/// </summary>
public sealed class RecordedApiServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<RecordedRequest, (int Status, string Body)> _answer;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<RecordedRequest> _requests = [];
    private readonly Task _loop;

    private RecordedApiServer(Func<RecordedRequest, (int Status, string Body)> answer)
    {
        _answer = answer;
        _listener.Start();
        _loop = AcceptAsync();
    }

    /// <summary>http://127.0.0.1:PORT</summary>
    public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>The requests so far, in order.</summary>
    public IReadOnlyList<RecordedRequest> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>Starts serving; <paramref name="answer"/> gives each request's status and JSON body.</summary>
    public static RecordedApiServer Start(Func<RecordedRequest, (int Status, string Body)> answer) => new(answer);

    /// <summary>A kubeconfig (token login) whose current context is this server, namespace <paramref name="ns"/>.</summary>
    public string Kubeconfig(string ns) => $$"""
        apiVersion: v1
        kind: Config
        clusters:
        - name: recorded
          cluster: {server: "{{Url}}"}
        users:
        - name: developer
          user: {token: recorded-token}
        contexts:
        - name: recorded
          context: {cluster: recorded, user: developer, namespace: {{ns}}}
        current-context: recorded
        """;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _loop;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    /// <summary>One keep-alive connection: request line, headers, Content-Length body; answers until the client closes.</summary>
    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            var stream = client.GetStream();
            using var reader = new StreamReader(stream, Encoding.ASCII, leaveOpen: true);
            try
            {
                while (await reader.ReadLineAsync(_stop.Token) is { Length: > 0 } requestLine)
                {
                    var parts = requestLine.Split(' ');
                    var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                    while (await reader.ReadLineAsync(_stop.Token) is { Length: > 0 } header)
                    {
                        var colon = header.IndexOf(':', StringComparison.Ordinal);
                        headers[header[..colon].Trim()] = header[(colon + 1)..].Trim();
                    }

                    var length = headers.TryGetValue("Content-Length", out var text) ? int.Parse(text, CultureInfo.InvariantCulture) : 0;
                    var body = new char[length];
                    if (length > 0)
                    {
                        // (An empty read would wait for the next request's bytes.)
                        await reader.ReadBlockAsync(body, _stop.Token);
                    }
                    var request = new RecordedRequest(parts[0], parts[1], headers.GetValueOrDefault("Content-Type"), headers.GetValueOrDefault("Authorization"), new string(body));
                    lock (_requests)
                    {
                        _requests.Add(request);
                    }

                    var (status, json) = _answer(request);
                    var payload = Encoding.UTF8.GetBytes(json);
                    var head = $"HTTP/1.1 {status} {(status == 200 ? "OK" : "Error")}\r\nContent-Type: application/json\r\nContent-Length: {payload.Length}\r\n\r\n";
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(head), _stop.Token);
                    await stream.WriteAsync(payload, _stop.Token);
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
            {
                // The client or the test went away.
            }
        }
    }
}

/// <summary>One request the <see cref="RecordedApiServer"/> received (the body as text; ASCII JSON).</summary>
public sealed record RecordedRequest(string Method, string Target, string? ContentType, string? Authorization, string Body)
{
    /// <summary>The path without the query.</summary>
    public string Path => Target.Split('?')[0];
}
