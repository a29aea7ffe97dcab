namespace Doppel.EndToEnd.Tests.Incoming;

/// <summary>Programs the incoming tests run under doppel.</summary>
internal static class IncomingPrograms
{
    /// <summary>Serves one HTTP request on port 80 (the backend pod's HTTP port), says which on stdout (<c>saw GET /path</c>), and exits.</summary>
    public const string OneRequestServer = """
        import http.server
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                print("saw GET " + self.path, flush=True)
                body = b"the developer's app\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args):
                pass
        server = http.server.HTTPServer(("", 80), Handler)
        print("listening", flush=True)
        server.handle_request()
        """;
}
