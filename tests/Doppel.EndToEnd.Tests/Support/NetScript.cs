namespace Doppel.EndToEnd.Tests.Support;

/// <summary>
/// A python app that makes the network calls given as arguments and prints one line each:
/// <c>http:URL</c> (the body as a python literal), <c>udp:HOST:PORT:TEXT</c> (the echoed
/// datagram), <c>tcp:HOST:PORT</c> (<c>connected</c>), <c>resolve:NAME</c> (the addresses);
/// a failure prints the errno name (<c>ENETUNREACH</c>), <c>not resolved</c> or <c>timed out</c>.
/// Every call has its own 10 s timeout; proxies are ignored.
/// </summary>
internal static class NetScript
{
    private const string Source = """
        import errno, socket, sys, urllib.error, urllib.request

        def describe(e):
            if isinstance(e, urllib.error.URLError) and isinstance(e.reason, (OSError, str)):
                e = e.reason if isinstance(e.reason, OSError) else OSError(e.reason)
            if isinstance(e, socket.gaierror):
                return "not resolved"
            if isinstance(e, (socket.timeout, TimeoutError)):
                return "timed out"
            if isinstance(e, OSError) and e.errno in errno.errorcode:
                return errno.errorcode[e.errno]
            return f"{type(e).__name__} {e}"

        def run(op, rest):
            if op == "http":
                opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
                with opener.open(rest, timeout=10) as response:
                    return repr(response.read().decode())
            if op == "udp":
                host, port, text = rest.split(":", 2)
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.settimeout(10)
                    s.sendto(text.encode(), (host, int(port)))
                    data, _ = s.recvfrom(65535)
                    return repr(data.decode())
            if op == "tcp":
                host, port = rest.rsplit(":", 1)
                with socket.create_connection((host, int(port)), timeout=10):
                    return "connected"
            if op == "resolve":
                infos = socket.getaddrinfo(rest, 80, socket.AF_INET, socket.SOCK_STREAM)
                return ",".join(sorted({info[4][0] for info in infos}))
            raise SystemExit("unknown op " + op)

        for arg in sys.argv[1:]:
            op, rest = arg.split(":", 1)
            try:
                result = run(op, rest)
            except Exception as e:
                result = describe(e)
            print(f"{op} {rest}: {result}", flush=True)
        """;

    public static string Write(ClusterFixture fixture) => fixture.WriteFile("net.py", Source);
}
