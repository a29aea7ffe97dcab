# The servers a mini-cluster pod runs (Doppel.Testing). Standard library only.
#   podserver.py http PORT BODY   GET/HEAD answer BODY; POST/PUT echo the request body
#   podserver.py udp-echo PORT    every datagram goes back to its sender
#   podserver.py tcp-echo PORT    every connection gets its bytes back
# Each mode imports only what it needs: http.server alone costs ~150 ms of start-up.
import socket
import sys


def http(port, body):
    import os
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def answer(self, data):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-Pod", os.environ.get("HOSTNAME", ""))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def do_GET(self):
            self.answer(body)

        def do_HEAD(self):
            self.answer(body)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            self.answer(self.rfile.read(length))

        do_PUT = do_POST

    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()


def udp_echo(port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", port))
    while True:
        data, peer = sock.recvfrom(65535)
        sock.sendto(data, peer)


def tcp_echo(port):
    import socketserver

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            while True:
                data = self.request.recv(65536)
                if not data:
                    return
                self.request.sendall(data)

    socketserver.ThreadingTCPServer.allow_reuse_address = True
    socketserver.ThreadingTCPServer.daemon_threads = True
    socketserver.ThreadingTCPServer(("0.0.0.0", port), Handler).serve_forever()


if __name__ == "__main__":
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "http":
        http(port, sys.argv[3].encode())
    elif mode == "udp-echo":
        udp_echo(port)
    elif mode == "tcp-echo":
        tcp_echo(port)
    else:
        sys.exit("unknown mode " + mode)
