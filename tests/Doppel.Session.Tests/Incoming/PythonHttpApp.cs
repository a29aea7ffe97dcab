using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Threading.Channels;

namespace Doppel.Session.Tests.Incoming;

/// <summary>
/// A local app that speaks HTTP/1.1 only: python's <c>http.server</c> (keep-alive, chunked
/// request bodies read) on 127.0.0.1 and a free port. Every request line it reads comes out of
/// <see cref="RequestLinesAsync"/> in order, including the <c>PRI * HTTP/2.0</c> of an h2c client, which it
/// answers with 505 as python does. Each answer is
/// <c>"python VERSION METHOD PATH host=HOST body=BODY\n"</c>.
/// </summary>
internal sealed class PythonHttpApp : IAsyncDisposable
{
    private const string Script = """
        import http.server, sys
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def parse_request(self):
                print("line " + self.raw_requestline.decode("latin-1").rstrip("\r\n"), flush=True)
                return super().parse_request()
            def body(self):
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    out = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        out += self.rfile.read(size)
                        self.rfile.readline()
                        if size == 0:
                            return out
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))
            def answer(self):
                body = self.body().decode()
                text = f"python {self.request_version} {self.command} {self.path} host={self.headers.get('Host')} body={body}\n".encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)
            do_GET = do_POST = answer
            def log_message(self, *args):
                pass
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        print("port", server.server_address[1], flush=True)
        server.serve_forever()
        """;

    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();

    private PythonHttpApp(Process process) => _process = process;

    public IPEndPoint EndPoint { get; private set; } = null!;

    /// <summary>The next <paramref name="count"/> request lines the app read (each is printed before its answer is written).</summary>
    public async Task<IReadOnlyList<string>> RequestLinesAsync(int count, CancellationToken cancellationToken)
    {
        var lines = new List<string>();
        while (lines.Count < count)
        {
            lines.Add(await _lines.Reader.ReadAsync(cancellationToken));
        }

        return lines;
    }

    public static async Task<PythonHttpApp> StartAsync(CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(Script);
        var app = new PythonHttpApp(Process.Start(info) ?? throw new InvalidOperationException("python3 could not be started."));
        try
        {
            var first = await app._process.StandardOutput.ReadLineAsync(cancellationToken)
                ?? throw new InvalidOperationException($"python http.server ended before it listened: {await app._process.StandardError.ReadToEndAsync(cancellationToken)}");
            app.EndPoint = new IPEndPoint(IPAddress.Loopback, int.Parse(first["port ".Length..], CultureInfo.InvariantCulture));
            _ = app.ReadLinesAsync();
            return app;
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    private async Task ReadLinesAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            _lines.Writer.TryWrite(line["line ".Length..]);
        }

        _lines.Writer.TryComplete();
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
