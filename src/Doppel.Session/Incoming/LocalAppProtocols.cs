using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Doppel.Session.Incoming;

/// <summary>
/// What each local app (by its address) showed of HTTP/2 over cleartext, for the replay of
/// stolen HTTP/2 requests (<see cref="ServeWork"/>): a client may speak h2c to the pod while the
/// developer's app speaks only HTTP/1.x (python http.server, busybox httpd, node's http). Such an
/// app answers the HTTP/2 connection preface (<c>PRI * HTTP/2.0</c>) with an HTTP/1.x error or
/// closes the connection, and .NET reports whichever it met first (a PROTOCOL_ERROR, a reset, a
/// connection that ended before its handshake; Kestrel on an HTTP/1-only endpoint says
/// HTTP_1_1_REQUIRED). So when an HTTP/2 request to an app not yet known fails, the app is asked
/// once, on a connection of its own (<see cref="ProbeAsync"/>): an app that answers the preface
/// with its SETTINGS speaks h2c (the failure was the request's own); any other answer, or none,
/// means HTTP/1.x only — the request goes again over HTTP/1.1, and so do later ones at once. The
/// agent's pass-through to the pod's app falls back likewise (<c>Doppel.Agent.Incoming.HttpPassThrough</c>).
/// <code>
///   h2c request fails ─► app known? ─ h2c ─► the failure stands (unless HTTP_1_1_REQUIRED: this request over HTTP/1.1)
///                                   ─ no ──► probe: PRI preface + SETTINGS ─► SETTINGS back: h2c, the failure stands
///                                                                           ─► anything else, EOF, reset: HTTP/1.x only, again over HTTP/1.1
///                                                                           ─► no connection, no answer in 2 s: unknown, the failure stands
/// </code>
/// Shared by the Serve calls of a session's agent connection; a verdict holds for the session.
/// </summary>
internal sealed class LocalAppProtocols
{
    // HTTP/2 error code HTTP_1_1_REQUIRED (RFC 9113 section 7).
    private const long Http11Required = 0xd;

    // The client connection preface (RFC 9113 section 3.4) and an empty SETTINGS frame.
    private static readonly byte[] s_preface = [.. "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8, 0, 0, 0, 0x4, 0, 0, 0, 0, 0];

    private static readonly TimeSpan s_probeTimeout = TimeSpan.FromSeconds(2);

    // app → true: it speaks h2c; false: it refused h2c (HTTP/1.x only).
    private readonly ConcurrentDictionary<IPEndPoint, bool> _h2c = new();

    /// <summary>True when <paramref name="app"/> refused h2c before: its HTTP/2 clients' requests go over HTTP/1.1.</summary>
    public bool Http1Only(IPEndPoint app) => _h2c.TryGetValue(app, out var h2c) && !h2c;

    /// <summary>Notes that <paramref name="app"/> answered a request over HTTP/2.</summary>
    public void AnsweredH2c(IPEndPoint app) => _h2c.TryAdd(app, true);

    /// <summary>
    /// True when the HTTP/2 request to <paramref name="app"/> that failed with <paramref name="e"/>
    /// should go again over HTTP/1.1: the app said HTTP_1_1_REQUIRED, or it is not known to speak
    /// h2c and the probe finds it does not. The verdict is remembered.
    /// </summary>
    public async Task<bool> RefusedH2cAsync(IPEndPoint app, HttpRequestException e, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(e);
        var knownH2c = _h2c.TryGetValue(app, out var h2c) && h2c;
        if ((e.InnerException as HttpProtocolException)?.ErrorCode == Http11Required)
        {
            // Said by a server that reads HTTP/2: for this request, or for every one when it is not known to take any.
            _h2c.TryAdd(app, false);
            return true;
        }

        if (knownH2c || await ProbeAsync(app, cancellationToken).ConfigureAwait(false) is not { } speaksH2c)
        {
            return false;
        }

        _h2c[app] = speaksH2c;
        return !speaksH2c;
    }

    /// <summary>
    /// Whether <paramref name="app"/> answers the HTTP/2 client preface with a SETTINGS frame (the
    /// server preface every HTTP/2 server sends first, RFC 9113 section 3.4); null when no
    /// connection could be made or nothing came within 2 s.
    /// </summary>
    internal static async Task<bool?> ProbeAsync(IPEndPoint app, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(s_probeTimeout);
        using var socket = new Socket(app.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(app, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return null;
        }

        var header = new byte[9];
        var filled = 0;
        try
        {
            await socket.SendAsync(s_preface, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            while (filled < 4)
            {
                var n = await socket.ReceiveAsync(header.AsMemory(filled), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    return false; // closed without a word of HTTP/2
                }

                filled += n;
            }
        }
        catch (SocketException)
        {
            return false; // reset: the preface was refused (an HTTP/2 server answers it)
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }

        // A frame header: 24-bit length, then the type; SETTINGS is 0x4. "HTTP/…" is an HTTP/1.x answer.
        return header[3] == 0x4;
    }
}
