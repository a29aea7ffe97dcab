using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Doppel.EndToEnd.Tests.Incoming;

/// <summary>
/// One HTTP/1.1 keep-alive connection on a raw socket: the test writes requests as text and reads
/// responses (Content-Length or chunked bodies; a chunked body also chunk by chunk), so what
/// shares the connection is exactly what the test wrote.
/// </summary>
internal sealed class RawHttpConnection(Socket socket) : IDisposable
{
    private readonly NetworkStream _stream = new(socket, ownsSocket: true);
    private readonly byte[] _buffer = new byte[65536];
    private int _start;
    private int _end;

    /// <summary>Sends <c>METHOD PATH HTTP/1.1</c>, Host, the <paramref name="headers"/> (<c>Name: value</c>) and an optional body (with its Content-Length).</summary>
    public async Task SendAsync(string method, string path, IEnumerable<string> headers, string? body, CancellationToken cancellationToken)
    {
        var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"{method} {path} HTTP/1.1\r\nHost: web\r\n");
        foreach (var header in headers)
        {
            text.Append(header).Append("\r\n");
        }

        if (body is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $"Content-Length: {Encoding.UTF8.GetByteCount(body)}\r\n");
        }

        text.Append("\r\n").Append(body);
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(text.ToString()), cancellationToken);
    }

    /// <summary>Reads a response head: the status and the headers (names lowercase).</summary>
    public async Task<(int Status, Dictionary<string, string> Headers)> ReadHeadAsync(CancellationToken cancellationToken)
    {
        var statusLine = await ReadLineAsync(cancellationToken);
        var parts = statusLine.Split(' ', 3);
        Assert.True(parts.Length >= 2 && parts[0] == "HTTP/1.1", $"not an HTTP/1.1 status line: '{statusLine}'");
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        string line;
        while ((line = await ReadLineAsync(cancellationToken)).Length > 0)
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            headers[line[..colon].Trim().ToLowerInvariant()] = line[(colon + 1)..].Trim();
        }

        return (int.Parse(parts[1], CultureInfo.InvariantCulture), headers);
    }

    /// <summary>Reads one chunk of a chunked body; empty at the last (zero) chunk, after which the trailers are read too.</summary>
    public async Task<string> ReadChunkAsync(CancellationToken cancellationToken)
    {
        var size = int.Parse((await ReadLineAsync(cancellationToken)).Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        if (size == 0)
        {
            while ((await ReadLineAsync(cancellationToken)).Length > 0)
            {
            }

            return string.Empty;
        }

        var data = await ReadExactlyAsync(size, cancellationToken);
        Assert.Equal(string.Empty, await ReadLineAsync(cancellationToken));
        return Encoding.UTF8.GetString(data);
    }

    /// <summary>Reads a whole response: status, headers and the body as text.</summary>
    public async Task<(int Status, Dictionary<string, string> Headers, string Body)> ReadResponseAsync(CancellationToken cancellationToken)
    {
        var (status, headers) = await ReadHeadAsync(cancellationToken);
        if (headers.TryGetValue("content-length", out var length))
        {
            return (status, headers, Encoding.UTF8.GetString(await ReadExactlyAsync(int.Parse(length, CultureInfo.InvariantCulture), cancellationToken)));
        }

        Assert.True(headers.TryGetValue("transfer-encoding", out var encoding) && encoding == "chunked", $"a keep-alive response needs a length or chunks; headers: {string.Join(", ", headers)}");
        var body = new StringBuilder();
        string chunk;
        while ((chunk = await ReadChunkAsync(cancellationToken)).Length > 0)
        {
            body.Append(chunk);
        }

        return (status, headers, body.ToString());
    }

    /// <summary>Sends a request and reads its whole response.</summary>
    public async Task<(int Status, Dictionary<string, string> Headers, string Body)> ExchangeAsync(string method, string path, IEnumerable<string> headers, string? body, CancellationToken cancellationToken)
    {
        await SendAsync(method, path, headers, body, cancellationToken);
        return await ReadResponseAsync(cancellationToken);
    }

    public void Dispose() => _stream.Dispose();

    private async Task<string> ReadLineAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (newline >= 0)
            {
                var line = Encoding.ASCII.GetString(_buffer, _start, newline - _start).TrimEnd('\r');
                _start = newline + 1;
                return line;
            }

            await FillAsync(cancellationToken);
        }
    }

    private async Task<byte[]> ReadExactlyAsync(int count, CancellationToken cancellationToken)
    {
        var data = new byte[count];
        var have = 0;
        while (have < count)
        {
            if (_start == _end)
            {
                await FillAsync(cancellationToken);
            }

            var n = Math.Min(count - have, _end - _start);
            Array.Copy(_buffer, _start, data, have, n);
            _start += n;
            have += n;
        }

        return data;
    }

    private async Task FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        Assert.True(_end < _buffer.Length, "a response line longer than 64 KiB");
        var n = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
        if (n == 0)
        {
            throw new IOException("the connection was closed by the other side");
        }

        _end += n;
    }
}
