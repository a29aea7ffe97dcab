using System.Security.Cryptography;

namespace Doppel.EndToEnd.Tests.Incoming;

/// <summary>
/// The HTTP app the incoming tests run, both as the pod's app and as each developer's local app
/// (node, standard library only): HTTP/1.1 and h2c with prior knowledge on one port, every
/// answer naming the app (<c>x-app</c> header, first word of the body).
/// <code>
///   GET  /anything        "NAME HTTPVERSION METHOD PATH\n" (any method; a request body is read and dropped)
///   POST /upload          "NAME LENGTH SHA256HEX\n" of the request body, read as it streams
///   GET  /download?bytes=N N bytes of <see cref="Pattern"/>, written in 64 KiB pieces as the client reads
///   GET  /chunked         chunked: "one\n", then (after GET /release on any connection) "two\n", 100 ms, "three\n"
///   GET  /release         lets the waiting /chunked answers go on
///   GET  /quit            "NAME bye\n", then the app exits 0
/// </code>
/// Routes go by the path's last segment (<c>/api/quit</c> is <c>/quit</c>), so path filters can prefix them.
/// It prints "listening" once it accepts connections.
/// </summary>
internal static class IncomingApp
{
    public const string Script = """
        const net = require('net'), http = require('http'), http2 = require('http2'), crypto = require('crypto');
        const name = process.argv[2], port = Number(process.argv[3]);
        let release, released = new Promise(r => release = r);

        function pattern(start, length) {
          // The stream's bytes: x = x * 1103515245 + 12345 (mod 2^31) from x = 1, byte = x >> 16 & 0xff.
          const out = Buffer.allocUnsafe(length);
          let x = start;
          for (let i = 0; i < length; i++) { x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff; out[i] = (x >>> 16) & 0xff; }
          return [out, x];
        }

        function handler(req, res) {
          const url = new URL(req.url, 'http://app');
          res.setHeader('x-app', name);
          switch ('/' + url.pathname.split('/').pop()) { // by the last segment: /api/quit is /quit
            case '/upload': {
              const hash = crypto.createHash('sha256');
              let length = 0;
              req.on('data', c => { hash.update(c); length += c.length; });
              req.on('end', () => res.end(`${name} ${length} ${hash.digest('hex')}\n`));
              return;
            }
            case '/download': {
              req.resume();
              let left = Number(url.searchParams.get('bytes')), x = 1;
              res.setHeader('content-type', 'application/octet-stream');
              res.setHeader('content-length', String(left));
              const more = () => {
                while (left > 0) {
                  const [piece, next] = pattern(x, Math.min(left, 65536));
                  x = next; left -= piece.length;
                  if (!res.write(piece)) { res.once('drain', more); return; }
                }
                res.end();
              };
              more();
              return;
            }
            case '/chunked':
              req.resume();
              res.setHeader('content-type', 'text/plain');
              res.write('one\n');
              released.then(() => { res.write('two\n'); setTimeout(() => res.end('three\n'), 100); });
              return;
            case '/release':
              req.resume();
              release();
              released = new Promise(r => release = r);
              res.end(`${name} released\n`);
              return;
            case '/quit':
              req.resume();
              res.end(`${name} bye\n`, () => setTimeout(() => process.exit(0), 100));
              return;
            default:
              req.resume();
              req.on('end', () => res.end(`${name} ${req.httpVersion} ${req.method} ${url.pathname}\n`));
          }
        }

        const h1 = http.createServer(handler);
        h1.keepAliveTimeout = 120000;
        const h2 = http2.createServer({}, handler);
        // One port for both: the first bytes say which (the HTTP/2 preface starts "PRI").
        net.createServer(socket => {
          socket.once('data', first => {
            socket.pause();
            socket.unshift(first);
            const server = first.toString('latin1', 0, 3) === 'PRI' ? h2 : h1;
            server.emit('connection', socket);
            if (server === h1) socket.resume();
          });
        }).listen(port, '0.0.0.0', () => console.log('listening'));
        """;

    /// <summary>The first <paramref name="length"/> bytes <c>/download</c> sends.</summary>
    public static byte[] Pattern(int length)
    {
        var bytes = new byte[length];
        var x = 1;
        for (var i = 0; i < length; i++)
        {
            x = (int)((((uint)x * 1103515245u) + 12345u) & 0x7fffffff);
            bytes[i] = (byte)((x >> 16) & 0xff);
        }

        return bytes;
    }

    /// <summary>The lowercase hex SHA-256 of <paramref name="bytes"/>.</summary>
    public static string Sha256(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
