using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Doppel.Protocol.Incoming;

/// <summary>
/// What each HTTP app (by its address) showed of HTTP/1.x and of HTTP/2 over cleartext (h2c
/// with prior knowledge), so that a request in one version can reach an app that speaks only
/// the other. Both ends that replay HTTP requests use it: the session toward the developer's
/// local app (a client may speak h2c to the pod while the local app speaks only HTTP/1.x, or
/// HTTP/1.1 while the local app is an h2c-only gRPC or Kestrel <c>Protocols=Http2</c> server)
/// and the agent toward the pod's app (requests no filter took). It lives here, beside the
/// filters, because both sides must judge an app the same way.
/// <code>
///   HTTP/2 request fails ─► protocol failure? ─ no (refused connect, ...) ─► the failure stands, nothing learnt
///     (RefusedH2cAsync)                       ─ yes ─► HTTP_1_1_REQUIRED ─► again over HTTP/1.1
///                                                   ─► known h2c ─► the failure stands
///                                                   ─► probe: PRI preface ─► SETTINGS: h2c, the failure stands
///                                                                         ─► anything else, EOF, reset: HTTP/1.x only, again over HTTP/1.1
///                                                                         ─► no connection, no answer in 2 s: the failure stands
///   HTTP/1.x request answered 400 "An HTTP/1.x request was sent to an HTTP/2 only endpoint." (Kestrel) ─► h2c only, again over HTTP/2
///   HTTP/1.x request fails ─► protocol failure? ─ no ─► the failure stands, nothing learnt
///     (RefusedHttp1Async)                       ─ yes ─► known HTTP/1.x ─► the failure stands
///                                                     ─► probe: OPTIONS * HTTP/1.1 ─► "HTTP/…": HTTP/1.x, the failure stands (unless it is Kestrel's 400)
///                                                                                 ─► an HTTP/2 frame (grpc-go: SETTINGS): h2c only, again over HTTP/2
///                                                                                 ─► EOF, reset ─► PRI preface probe: SETTINGS: h2c only, again over HTTP/2
/// </code>
/// A verdict holds for the life of the instance; a refused or failed connection never makes one
/// (an app that is restarting is not judged). The per-request cost is one dictionary look-up
/// (<see cref="VersionFor"/>); probes run only after a failed request.
/// </summary>
public sealed class HttpAppProtocols
{
    // HTTP/2 error code HTTP_1_1_REQUIRED (RFC 9113 section 7).
    private const long Http11Required = 0xd;

    // What is known of an app: flags, only ever added.
    private const int SpeaksH2c = 1;
    private const int RefusesH2c = 2;
    private const int SpeaksHttp1 = 4;
    private const int RefusesHttp1 = 8;

    private const byte SettingsFrame = 0x4;
    private const byte GoAwayFrame = 0x7;

    // The client connection preface (RFC 9113 section 3.4) and an empty SETTINGS frame.
    private static readonly byte[] s_preface = [.. "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8, 0, 0, 0, SettingsFrame, 0, 0, 0, 0, 0];

    private static readonly TimeSpan s_probeTimeout = TimeSpan.FromSeconds(2);

    private readonly Func<IPEndPoint, CancellationToken, ValueTask<Socket>> _connect;
    private readonly ConcurrentDictionary<IPEndPoint, int> _known = new();

    /// <param name="connect">
    /// Opens a connection to an app for a probe (the agent's are marked sockets in the target's
    /// network namespace); a <see cref="SocketException"/> or <see cref="IOException"/> means no
    /// connection, which leaves the app unjudged.
    /// </param>
    public HttpAppProtocols(Func<IPEndPoint, CancellationToken, ValueTask<Socket>> connect)
    {
        ArgumentNullException.ThrowIfNull(connect);
        _connect = connect;
    }

    /// <summary>Probes with plain sockets on this machine (the session's local apps).</summary>
    public HttpAppProtocols()
        : this(ConnectAsync)
    {
    }

    /// <summary>
    /// The version a request to <paramref name="app"/> must go in instead of its own: HTTP/1.1 for
    /// an HTTP/2 request (<paramref name="http2"/>) to an app that refused h2c, HTTP/2 for an
    /// HTTP/1.x request to an app that speaks only h2c; null when the request keeps its version.
    /// </summary>
    public Version? VersionFor(IPEndPoint app, bool http2)
    {
        if (!_known.TryGetValue(app, out var known))
        {
            return null;
        }

        return http2 ? (known & RefusesH2c) != 0 ? HttpVersion.Version11 : null
            : (known & RefusesHttp1) != 0 ? HttpVersion.Version20 : null;
    }

    /// <summary>True when <paramref name="app"/> refused HTTP/1.x before and speaks h2c: its HTTP/1.x clients' requests go over HTTP/2.</summary>
    public bool H2cOnly(IPEndPoint app) => _known.TryGetValue(app, out var known) && (known & RefusesHttp1) != 0;

    /// <summary>Notes that <paramref name="app"/> answered a request over HTTP/2 (no probe is needed when a later HTTP/2 request fails).</summary>
    public void AnsweredH2c(IPEndPoint app)
    {
        if (!_known.TryGetValue(app, out var known) || (known & SpeaksH2c) == 0)
        {
            Learn(app, SpeaksH2c);
        }
    }

    /// <summary>
    /// True when a request failed the way a request fails at an app that does not speak its
    /// protocol (an invalid or unexpected answer, a connection that ended or was reset after it
    /// was made); false for a connection that could not be made at all (nothing listens, the app
    /// is restarting) and the like, which say nothing about the app's protocols.
    /// </summary>
    public static bool IsProtocolFailure(HttpRequestException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return e.HttpRequestError is HttpRequestError.HttpProtocolError or HttpRequestError.InvalidResponse
            or HttpRequestError.ResponseEnded or HttpRequestError.VersionNegotiationError or HttpRequestError.Unknown;
    }

    /// <summary>
    /// True when the HTTP/2 request to <paramref name="app"/> that failed with <paramref name="e"/>
    /// should go again over HTTP/1.1: the app said HTTP_1_1_REQUIRED, or the failure was a protocol
    /// failure (<see cref="IsProtocolFailure"/>), the app is not known to speak h2c, and the probe
    /// finds it does not. The verdict is remembered.
    /// </summary>
    public async Task<bool> RefusedH2cAsync(IPEndPoint app, HttpRequestException e, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(e);
        if (!IsProtocolFailure(e))
        {
            return false;
        }

        var known = _known.GetValueOrDefault(app);
        if ((e.InnerException as HttpProtocolException)?.ErrorCode == Http11Required)
        {
            // Said by a server that reads HTTP/2: for this request, or for every one when it is not known to take any.
            if ((known & SpeaksH2c) == 0)
            {
                Learn(app, RefusesH2c);
            }

            return true;
        }

        if ((known & RefusesH2c) != 0)
        {
            return true;
        }

        if ((known & SpeaksH2c) != 0 || await ProbeH2cAsync(app, cancellationToken).ConfigureAwait(false) is not { } speaksH2c)
        {
            return false;
        }

        Learn(app, speaksH2c ? SpeaksH2c : RefusesH2c);
        return !speaksH2c;
    }

    /// <summary>
    /// Whether <paramref name="app"/> speaks h2c, from what it showed before or, the first time, from
    /// a probe (<see cref="ProbeH2cAsync(IPEndPoint, CancellationToken)"/>; the verdict is
    /// remembered); null when the probe could not tell (no connection, no answer in 2 s). For a
    /// request whose body must not start to go before the app is known to take h2c: a body read
    /// from the client once cannot be sent again over HTTP/1.1.
    /// </summary>
    public async Task<bool?> SpeaksH2cAsync(IPEndPoint app, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(app);
        var known = _known.GetValueOrDefault(app);
        if ((known & (SpeaksH2c | RefusesH2c)) != 0)
        {
            return (known & SpeaksH2c) != 0;
        }

        if (await ProbeH2cAsync(app, cancellationToken).ConfigureAwait(false) is not { } speaks)
        {
            return null;
        }

        Learn(app, speaks ? SpeaksH2c : RefusesH2c);
        return speaks;
    }

    /// <summary>
    /// True when the HTTP/1.x request to <paramref name="app"/> that failed with
    /// <paramref name="e"/> should go again over HTTP/2 with prior knowledge: the failure was a
    /// protocol failure, the app is not known to speak HTTP/1.x, and the probes find that it
    /// answers HTTP/1.1 with HTTP/2 frames, or closes on it and answers the HTTP/2 preface. The
    /// verdict is remembered.
    /// </summary>
    public async Task<bool> RefusedHttp1Async(IPEndPoint app, HttpRequestException e, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(e);
        var known = _known.GetValueOrDefault(app);
        if ((known & RefusesHttp1) != 0)
        {
            return true;
        }

        if (!IsProtocolFailure(e) || (known & SpeaksHttp1) != 0)
        {
            return false;
        }

        var http1 = await ProbeHttp1Async(app, cancellationToken).ConfigureAwait(false);
        if (http1 == Answer.Closed && await ProbeH2cAsync(app, cancellationToken).ConfigureAwait(false) == true)
        {
            http1 = Answer.Http2;
        }

        switch (http1)
        {
            case Answer.Http1:
                Learn(app, SpeaksHttp1);
                return false;
            case Answer.Http2:
                Learn(app, RefusesHttp1 | SpeaksH2c);
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// True when <paramref name="response"/>, <paramref name="app"/>'s answer to an HTTP/1.x
    /// request, is the fixed 400 with which an HTTP/2-only Kestrel (gRPC services, <c>Protocols =
    /// Http2</c>) refuses HTTP/1.x (<see cref="Http2OnlyEndpointText"/>): the app speaks only h2c,
    /// and the request should go again over HTTP/2. The verdict is remembered. Any other answer
    /// is left as it was (a 400 of 56 bytes is buffered to be compared; it can still be read).
    /// </summary>
    public async Task<bool> RefusedHttp1Async(IPEndPoint app, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(response);
        if (response.StatusCode != HttpStatusCode.BadRequest || response.Content.Headers.ContentLength != Http2OnlyEndpointText.Length)
        {
            return false;
        }

        await response.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        if (!body.AsSpan().SequenceEqual(Http2OnlyEndpointText))
        {
            return false;
        }

        Learn(app, RefusesHttp1 | SpeaksH2c);
        return true;
    }

    /// <summary>The body of Kestrel's answer to an HTTP/1.x request on an HTTP/2-only endpoint (a 400 with <c>Connection: close</c>).</summary>
    public static ReadOnlySpan<byte> Http2OnlyEndpointText => "An HTTP/1.x request was sent to an HTTP/2 only endpoint."u8;

    /// <summary>
    /// Whether <paramref name="app"/> answers the HTTP/2 client preface with a SETTINGS frame (the
    /// server preface every HTTP/2 server sends first, RFC 9113 section 3.4); null when no
    /// connection could be made or nothing came within 2 s.
    /// </summary>
    public Task<bool?> ProbeH2cAsync(IPEndPoint app, CancellationToken cancellationToken) => ProbeH2cAsync(_connect, app, cancellationToken);

    /// <summary><see cref="ProbeH2cAsync(IPEndPoint, CancellationToken)"/> over plain sockets on this machine.</summary>
    public static Task<bool?> ProbeH2cWithSocketAsync(IPEndPoint app, CancellationToken cancellationToken) => ProbeH2cAsync(ConnectAsync, app, cancellationToken);

    private static async Task<bool?> ProbeH2cAsync(Func<IPEndPoint, CancellationToken, ValueTask<Socket>> connect, IPEndPoint app, CancellationToken cancellationToken) =>
        await ProbeAsync(connect, app, s_preface, cancellationToken).ConfigureAwait(false) switch
        {
            Answer.Unknown => null,
            Answer.Http2 => true, // SETTINGS first (a GOAWAY alone is Kestrel's HTTP/1-only "HTTP_1_1_REQUIRED")
            _ => false, // an HTTP/1.x error, a close or a reset: the preface was refused
        };

    private Task<Answer> ProbeHttp1Async(IPEndPoint app, CancellationToken cancellationToken)
    {
        // OPTIONS * asks about the server, not a resource: nothing in the app runs for it.
        var request = System.Text.Encoding.ASCII.GetBytes($"OPTIONS * HTTP/1.1\r\nHost: {app}\r\nConnection: close\r\n\r\n");
        return ProbeAsync(_connect, app, request, cancellationToken, http1Probe: true);
    }

    // What the first bytes of an app's answer to a probe were.
    private enum Answer
    {
        Unknown, // no connection, or nothing within the time-out
        Closed, // the connection ended or was reset without an answer
        Http1, // "HTTP/"
        Http2, // an HTTP/2 SETTINGS frame (or, when asked for, a GOAWAY)
        Other,
    }

    private static async Task<Answer> ProbeAsync(Func<IPEndPoint, CancellationToken, ValueTask<Socket>> connect, IPEndPoint app, byte[] hello, CancellationToken cancellationToken, bool http1Probe = false)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(s_probeTimeout);
        Socket socket;
        try
        {
            socket = await connect(app, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or IOException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return Answer.Unknown;
        }

        using (socket)
        {
            // A frame header starts with a 24-bit length, then the type; "HTTP/" is an HTTP/1.x answer.
            var header = new byte[5];
            var filled = 0;
            try
            {
                await socket.SendAsync(hello, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                while (filled < header.Length)
                {
                    var n = await socket.ReceiveAsync(header.AsMemory(filled), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                    if (n == 0)
                    {
                        break;
                    }

                    filled += n;
                }
            }
            catch (SocketException)
            {
                return Answer.Closed;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return Answer.Unknown;
            }

            if (filled == header.Length && header.AsSpan().SequenceEqual("HTTP/"u8))
            {
                // Kestrel's HTTP/2-only endpoints answer HTTP/1.x with a short 400 saying so, then close.
                return http1Probe && await SaysHttp2OnlyAsync(socket, timeout.Token).ConfigureAwait(false) ? Answer.Http2 : Answer.Http1;
            }

            if (filled >= 4 && (header[3] == SettingsFrame || (http1Probe && header[3] == GoAwayFrame)))
            {
                return Answer.Http2;
            }

            return filled == 0 ? Answer.Closed : Answer.Other;
        }
    }

    // Reads the rest of a short answer (up to 512 bytes, until the app closes) and looks for Kestrel's HTTP/2-only sentence.
    private static async Task<bool> SaysHttp2OnlyAsync(Socket socket, CancellationToken cancellationToken)
    {
        var rest = new byte[512];
        var filled = 0;
        try
        {
            int n;
            while (filled < rest.Length && (n = await socket.ReceiveAsync(rest.AsMemory(filled), SocketFlags.None, cancellationToken).ConfigureAwait(false)) > 0)
            {
                filled += n;
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            // what came is judged
        }

        return rest.AsSpan(0, filled).IndexOf(Http2OnlyEndpointText) >= 0;
    }

    private static async ValueTask<Socket> ConnectAsync(IPEndPoint app, CancellationToken cancellationToken)
    {
        var socket = new Socket(app.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(app, cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private void Learn(IPEndPoint app, int flags) => _known.AddOrUpdate(app, flags, (_, known) => known | flags);
}
