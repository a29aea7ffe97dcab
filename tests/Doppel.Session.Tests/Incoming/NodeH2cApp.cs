using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Doppel.Session.Tests.Incoming;

/// <summary>
/// A local app that speaks only HTTP/2 over cleartext (h2c with prior knowledge): node's
/// <c>http2.createServer</c> on 127.0.0.1 and a free port. An HTTP/1.1 request gets HTTP/2
/// frames back (an empty SETTINGS, then GOAWAY PROTOCOL_ERROR), as from a gRPC server. Each
/// answer is <c>"node h2c VERSION METHOD PATH host=AUTHORITY body=BODY\n"</c>.
/// </summary>
internal sealed class NodeH2cApp : IAsyncDisposable
{
    private const string Script = """
        const http2 = require('http2');
        const server = http2.createServer((req, res) => {
          let body = '';
          req.on('data', d => body += d);
          req.on('end', () => res.end(`node h2c ${req.httpVersion} ${req.method} ${req.url} host=${req.headers[':authority']} body=${body}\n`));
        });
        server.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port));
        """;

    private readonly Process _process;

    private NodeH2cApp(Process process) => _process = process;

    public IPEndPoint EndPoint { get; private set; } = null!;

    public static async Task<NodeH2cApp> StartAsync(CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-e");
        info.ArgumentList.Add(Script);
        var app = new NodeH2cApp(Process.Start(info) ?? throw new InvalidOperationException("node could not be started."));
        try
        {
            var first = await app._process.StandardOutput.ReadLineAsync(cancellationToken)
                ?? throw new InvalidOperationException($"node's h2c server ended before it listened: {await app._process.StandardError.ReadToEndAsync(cancellationToken)}");
            app.EndPoint = new IPEndPoint(IPAddress.Loopback, int.Parse(first["port ".Length..], CultureInfo.InvariantCulture));
            return app;
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
