using System.Buffers;
using System.Net;
using Doppel.Protocol;
using Doppel.Protocol.V1;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Doppel.Agent.Incoming;

/// <summary>
/// One stolen HTTP request (Kestrel's <see cref="HttpContext"/>) exchanged on a Serve call:
/// <code>
///   request_head, data…, request_end{trailers} ──► session
///   response_head{status, headers}, data…, response_end{trailers} ◄── session
/// </code>
/// With a session that speaks whole messages (<see cref="ServeStreams.WholeMessages"/>), a
/// request whose body has already arrived (a GET, a small upload) is one request_head with its
/// body and end, and a response_head with end is the whole response, written in one flush.
/// The request body is streamed while the response is read (either may come first); response
/// chunks are flushed to the client as they arrive. A session <c>error</c> or the call/session
/// ending answers 502 with a one-line reason when no response has started, else aborts the
/// request. Mirror copies of a request are <see cref="MirrorCopy"/>, with the same head. An HTTP/1.1
/// upgrade request (WebSocket, ...) goes with its Upgrade and Connection headers and no body; a 101
/// from the session turns the call into a byte relay (<see cref="UpgradedRelay"/>).
/// </summary>
internal sealed class HttpWork(HttpContext context, int port, IPEndPoint? client) : IncomingWork
{
    /// <summary>Hop-by-hop headers (RFC 9110 §7.6.1) that never cross the agent.</summary>
    private static readonly HashSet<string> s_hopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "TE", "Trailer",
    };

    /// <summary>True for hop-by-hop headers and HTTP/2 pseudo-headers.</summary>
    public static bool IsHopByHop(string name) => name.StartsWith(':') || s_hopByHop.Contains(name);

    /// <summary>The request_head of <paramref name="context"/>'s request (hop-by-hop headers left out, <c>TE: trailers</c> kept), as work <paramref name="id"/> of <paramref name="port"/>.</summary>
    public static HttpRequestHead RequestHead(HttpContext context, ulong id, int port, IPEndPoint? client)
    {
        var request = context.Request;
        var head = new HttpRequestHead
        {
            Id = id,
            Port = (uint)port,
            Method = request.Method,
            Target = request.Path.ToUriComponent() + request.QueryString.ToUriComponent(),
            Version = request.Protocol == "HTTP/2" ? "HTTP/2" : request.Protocol,
            Authority = request.Host.Value ?? string.Empty,
            Scheme = request.Scheme,
        };
        if (client is not null)
        {
            head.Client = SockAddr.FromIPEndPoint(client);
        }

        // An upgrade request (WebSocket, ...) keeps Upgrade and Connection: the session's app decides.
        var upgrade = UpgradedRelay.Upgradable(context);
        foreach (var (name, values) in request.Headers)
        {
            // Transfer-Encoding stays in the head: it is how the session learns that an HTTP/1.1
            // body of unknown length follows (it frames the replay's body itself and drops the header).
            if (IsHopByHop(name) && !(name.Equals("TE", StringComparison.OrdinalIgnoreCase) && values == "trailers") && !name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) && !(upgrade is not null && UpgradedRelay.IsUpgradeHeader(name)))
            {
                continue;
            }

            foreach (var value in values)
            {
                head.Headers.Add(new HttpHeader { Name = name, Value = value ?? string.Empty });
            }
        }

        return head;
    }

    protected override async Task<bool> RunCoreAsync(ServeStreams call, CancellationToken cancellationToken)
    {
        var head = RequestHead(context, Id, port, client);
        var upgrade = UpgradedRelay.Upgradable(context);

        using var sending = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, context.RequestAborted);
        Task<bool> send;
        try
        {
            var whole = upgrade is null && call.WholeMessages && TakeWholeBody(head);
            await call.WriteAsync(new ServeServerMessage { RequestHead = head }, sending.Token).ConfigureAwait(false);
            send = whole ? Task.FromResult(true) : upgrade is null ? SendBodyAsync(call, sending.Token) : UpgradedRelay.SendNoBodyAsync(call, sending.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
        {
            await FailCoreAsync("the session's Serve call ended before the request was sent").ConfigureAwait(false);
            return false;
        }

        var answered = await ReceiveResponseAsync(call, upgrade, cancellationToken).ConfigureAwait(false);
        if (!answered || !send.IsCompleted)
        {
            // The response ended before the request body (or failed): this call cannot carry more work.
            await sending.CancelAsync().ConfigureAwait(false);
            await send.ConfigureAwait(false);
            return false;
        }

        return await send.ConfigureAwait(false);
    }

    /// <summary>The request_end of <paramref name="context"/>'s request, whose body has been read to its end: its trailers, when there are any.</summary>
    public static HttpMessageEnd RequestEnd(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var end = new HttpMessageEnd();
        if (context.Request.SupportsTrailers() && context.Request.CheckTrailersAvailable())
        {
            foreach (var (name, values) in context.Features.Get<IHttpRequestTrailersFeature>()!.Trailers)
            {
                foreach (var value in values)
                {
                    end.Trailers.Add(new HttpHeader { Name = name, Value = value ?? string.Empty });
                }
            }
        }

        return end;
    }

    protected override Task FailCoreAsync(string reason)
    {
        if (context.Response.HasStarted)
        {
            context.Abort();
            return Task.CompletedTask;
        }

        context.Response.StatusCode = StatusCodes.Status502BadGateway;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync("doppel: " + reason + "\n");
    }

    /// <summary>
    /// Puts the whole request body (at most <see cref="Relay.ChunkSize"/>) and its end into
    /// <paramref name="head"/> when the body has already arrived in full (none, for most GETs);
    /// false, with nothing read, when it has not: the body then streams after the head.
    /// </summary>
    private bool TakeWholeBody(HttpRequestHead head)
    {
        var reader = context.Request.BodyReader;
        if (!reader.TryRead(out var result))
        {
            return false;
        }

        if (!result.IsCompleted || result.IsCanceled || result.Buffer.Length > Relay.ChunkSize)
        {
            reader.AdvanceTo(result.Buffer.Start);
            return false;
        }

        head.Body = result.Buffer.IsEmpty ? ByteString.Empty : ByteString.CopyFrom(result.Buffer.ToArray());
        reader.AdvanceTo(result.Buffer.End);
        head.End = RequestEnd(context);
        return true;
    }

    // client --body--> session; true when the whole body and request_end were sent.
    private async Task<bool> SendBodyAsync(ServeStreams call, CancellationToken cancellationToken)
    {
        var reader = context.Request.BodyReader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = result.Buffer;
                while (!buffer.IsEmpty)
                {
                    var chunk = buffer.Slice(0, Math.Min(buffer.Length, Relay.ChunkSize));
                    await call.WriteAsync(new ServeServerMessage { Data = ByteString.CopyFrom(chunk.ToArray()) }, cancellationToken).ConfigureAwait(false);
                    buffer = buffer.Slice(chunk.End);
                }

                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }

            var end = RequestEnd(context);
            await call.WriteAsync(new ServeServerMessage { RequestEnd = end }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException or BadHttpRequestException)
        {
            return false;
        }
    }

    private Task EndResponseAsync(HttpMessageEnd end)
    {
        var response = context.Response;
        foreach (var trailer in end.Trailers)
        {
            if (response.SupportsTrailers())
            {
                response.AppendTrailer(trailer.Name, trailer.Value);
            }
        }

        return response.CompleteAsync();
    }

    // session --response--> client; true when response_end arrived (false after an upgrade: the call ends with it).
    private async Task<bool> ReceiveResponseAsync(ServeStreams call, IHttpUpgradeFeature? upgrade, CancellationToken cancellationToken)
    {
        var response = context.Response;
        try
        {
            while (await call.Requests.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                var message = call.Requests.Current;
                switch (message.MessageCase)
                {
                    case ServeClientMessage.MessageOneofCase.ResponseHead when upgrade is not null && message.ResponseHead.Status == StatusCodes.Status101SwitchingProtocols:
                        await UpgradedRelay.StolenAsync(context, upgrade, message.ResponseHead, call, cancellationToken).ConfigureAwait(false);
                        return false;
                    case ServeClientMessage.MessageOneofCase.ResponseHead when !response.HasStarted:
                        response.StatusCode = (int)message.ResponseHead.Status;
                        foreach (var header in message.ResponseHead.Headers)
                        {
                            if (!IsHopByHop(header.Name))
                            {
                                response.Headers.Append(header.Name, header.Value);
                            }
                        }

                        if (message.ResponseHead.End is { } whole)
                        {
                            // The whole response in one message: head, body and end leave in one flush.
                            if (!message.ResponseHead.Body.IsEmpty)
                            {
                                response.BodyWriter.Write(message.ResponseHead.Body.Span);
                            }

                            await EndResponseAsync(whole).ConfigureAwait(false);
                            return true;
                        }

                        await response.StartAsync(cancellationToken).ConfigureAwait(false);
                        break;
                    case ServeClientMessage.MessageOneofCase.Data:
                        await response.BodyWriter.WriteAsync(message.Data.Memory, cancellationToken).ConfigureAwait(false);
                        break;
                    case ServeClientMessage.MessageOneofCase.ResponseEnd:
                        await EndResponseAsync(message.ResponseEnd).ConfigureAwait(false);
                        return true;
                    case ServeClientMessage.MessageOneofCase.Error:
                        await FailCoreAsync("the session could not deliver the request: " + message.Error.Message).ConfigureAwait(false);
                        return false;
                    default:
                        await FailCoreAsync($"the session sent {message.MessageCase} where a response was expected").ConfigureAwait(false);
                        return false;
                }
            }

            await FailCoreAsync("the session's Serve call ended before the response did").ConfigureAwait(false);
            return false;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
        {
            await FailCoreAsync("the session ended before the response did").ConfigureAwait(false);
            return false;
        }
    }
}
