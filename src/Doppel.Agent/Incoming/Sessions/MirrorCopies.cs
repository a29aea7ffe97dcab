using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using Doppel.Protocol;
using Doppel.Protocol.V1;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Doppel.Agent.Incoming;

/// <summary>
/// The mirror copies of one redirected connection (one per session that mirrors the port whole)
/// or of one HTTP request (one per session whose mirror filter matched it), fed by a
/// <see cref="MirrorTeeReader"/> in front of what the original path reads:
/// <code>
///   connection input ──tee──► original path (pass-through, Kestrel, a whole steal)
///                       └──► tcp_open{mirror} data… half_close ──► each whole mirror
///   request body     ──tee──► original path (pass-through to the app, or a filtered steal)
///                       └──► request_head{mirror} data… request_end ──► each matching mirror
/// </code>
/// Copies are taken of the traffic as it reaches the agent, whoever gets the original: a request
/// stolen by one session is still copied to every session whose mirror filter matches, and a
/// connection stolen whole is copied to every whole mirror of its port (as mirrord's mirror,
/// which sniffs packets, sees stolen traffic too). Upgrade requests (WebSocket, CONNECT) are not
/// copied by filtered mirrors; their bytes reach whole mirrors with the connection's.
/// </summary>
internal sealed class MirrorCopies : IDisposable
{
    private readonly MirrorCopy[] _copies;
    private readonly HttpContext? _request;

    private MirrorCopies(MirrorCopy[] copies, HttpContext? request)
    {
        _copies = copies;
        _request = request;
    }

    /// <summary>
    /// Starts the copies of a new connection for the port's whole mirrors and puts the tee in
    /// front of <paramref name="connection"/>'s input; null when the port has none. Dispose when
    /// the connection has ended: copies still open end with half_close there.
    /// </summary>
    public static MirrorCopies? OfConnection(PortMirrors? mirrors, ConnectionContext connection, int port, IPEndPoint? client, IPEndPoint original)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (mirrors is null || mirrors.Whole.Count == 0)
        {
            return null;
        }

        var copies = Start(mirrors.Whole, port, http: false, id =>
        {
            var open = new IncomingTcpOpen { Id = id, Port = (uint)port, OriginalDestination = SockAddr.FromIPEndPoint(original), Mirror = true };
            if (client is not null)
            {
                open.Client = SockAddr.FromIPEndPoint(client);
            }

            return new ServeServerMessage { TcpOpen = open };
        });
        if (copies.Length == 0)
        {
            return null;
        }

        var group = new MirrorCopies(copies, null);
        connection.Transport = new Duplex(new MirrorTeeReader(connection.Transport.Input, group.Add, group.EndAll), connection.Transport.Output);
        return group;
    }

    /// <summary>
    /// Starts the copies of one request for each session whose filter in <paramref name="filtered"/>
    /// matches and puts the tee in front of its body; the copies are finished when the request
    /// has been served (a body the original path did not read to its end: the copies end with an error).
    /// </summary>
    public static void OfRequest(PortMirrors? mirrors, HttpRequestView view, RequestBody? body, HttpContext context, int port, IPEndPoint? client)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (mirrors?.Filtered is not { } filtered || IsUpgrade(context))
        {
            return;
        }

        var queues = new List<MirrorQueue>();
        foreach (var session in filtered.Matching(view, body))
        {
            if (mirrors.QueueOf(session) is { } queue)
            {
                queues.Add(queue);
            }
        }

        var copies = queues.Count == 0 ? [] : Start(queues, port, http: true, id =>
        {
            var head = HttpWork.RequestHead(context, id, port, client);
            head.Mirror = true;
            return new ServeServerMessage { RequestHead = head };
        });
        if (copies.Length == 0)
        {
            return;
        }

        var group = new MirrorCopies(copies, context);
        context.Response.RegisterForDispose(group);
        if (context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody != true)
        {
            group.EndAll();
            return;
        }

        var tee = new MirrorTeeReader(context.Request.BodyReader, group.Add, group.EndAll);
        context.Features.Set<IRequestBodyPipeFeature>(new BodyPipe(tee));
        context.Request.Body = tee.AsStream();
    }

    /// <summary>Ends the copies still open: half_close for a connection; error for a request whose body was not read to its end.</summary>
    public void Dispose()
    {
        foreach (var copy in _copies)
        {
            if (_request is null)
            {
                copy.End(new ServeServerMessage { HalfClose = new TcpHalfClose() });
            }
            else
            {
                copy.Fail("the original request's body was not read to its end, so the mirror copy is incomplete");
            }
        }
    }

    private static MirrorCopy[] Start(IReadOnlyList<MirrorQueue> queues, int port, bool http, Func<ulong, ServeServerMessage> first)
    {
        var copies = new List<MirrorCopy>(queues.Count);
        foreach (var queue in queues)
        {
            if (!queue.Session.Ended.IsCancellationRequested && MirrorCopy.Start(queue, port, http, first) is { } copy)
            {
                copies.Add(copy);
            }
        }

        return [.. copies];
    }

    private static bool IsUpgrade(HttpContext context) =>
        context.Features.Get<IHttpUpgradeFeature>()?.IsUpgradableRequest == true
        || context.Features.Get<IHttpExtendedConnectFeature>()?.IsExtendedConnect == true
        || HttpMethods.IsConnect(context.Request.Method);

    private void Add(ReadOnlySequence<byte> bytes)
    {
        foreach (var copy in _copies)
        {
            copy.Add(bytes);
        }
    }

    private void EndAll()
    {
        var end = _request is null
            ? new ServeServerMessage { HalfClose = new TcpHalfClose() }
            : new ServeServerMessage { RequestEnd = HttpWork.RequestEnd(_request) };
        foreach (var copy in _copies)
        {
            copy.End(end);
        }
    }

    /// <summary>A connection's transport with the tee as its input.</summary>
    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => input;

        public PipeWriter Output => output;
    }

    /// <summary>The request body's reader, replaced by the tee.</summary>
    private sealed class BodyPipe(PipeReader reader) : IRequestBodyPipeFeature
    {
        public PipeReader Reader => reader;
    }
}
