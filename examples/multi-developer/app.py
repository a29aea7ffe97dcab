#!/usr/bin/env python3
"""The two-developer demo's local app: the service a developer is working on, on their machine.

It listens on port 80 (the pod's port; doppel subscribes it at the agent) and answers every
request with one line naming the developer (its argument; not $USER, which doppel's `env`
feature may replace with the pod's), so the demo shows whose machine answered. SIGTERM ends it
quietly.
"""
import http.server
import signal
import sys

USER = sys.argv[1] if len(sys.argv) > 1 else "unknown"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = f"hello from {USER}'s laptop: the local app answered {self.command} {self.path}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass  # quiet: the demo prints what matters


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
http.server.ThreadingHTTPServer(("0.0.0.0", 80), Handler).serve_forever()
