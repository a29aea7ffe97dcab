using System.Text;
using Doppel.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace Doppel.Agent.Tests.Incoming;

/// <summary>
/// The test playing a session against the real agent: a Subscribe call and a few idle Serve calls
/// that answer every stolen HTTP request with <see cref="Answer"/> (a chunked body in three
/// parts), every stolen upgrade request (an <c>Upgrade</c> header) with 101 and then an echo of
/// each data message as "session: DATA" until the client's half-close, and every stolen TCP
/// connection with "stolen whole\n" after the client's half-close.
/// </summary>
internal sealed class TestSession : IAsyncDisposable
{
    public const string Answer = "answered by the test session\n";

    private readonly GrpcChannel _channel;
    private readonly AsyncDuplexStreamingCall<IncomingClientMessage, IncomingServerMessage> _control;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _servers = [];
    private int _mirroredHalfCloses;

    private TestSession(GrpcChannel channel, AsyncDuplexStreamingCall<IncomingClientMessage, IncomingServerMessage> control, string id)
    {
        _channel = channel;
        _control = control;
        Id = id;
    }

    public string Id { get; }

    /// <summary>The request heads this session received.</summary>
    public List<HttpRequestHead> Requests { get; } = [];

    /// <summary>The bytes of mirror copies of whole connections (tcp_open with mirror set), as text, in arrival order.</summary>
    public System.Text.StringBuilder MirroredBytes { get; } = new();

    /// <summary>How many mirror copies of whole connections ended with half_close.</summary>
    public int MirroredHalfCloses => Volatile.Read(ref _mirroredHalfCloses);

    /// <summary>Opens Subscribe and <paramref name="serveCalls"/> Serve calls; <paramref name="headers"/>: sent with the Subscribe call (a session's doppel-session-id).</summary>
    public static async Task<TestSession> StartAsync(GrpcChannel channel, CancellationToken cancellationToken, int serveCalls = 3, Metadata? headers = null)
    {
        var client = new IncomingService.IncomingServiceClient(channel);
        var control = client.Subscribe(headers, cancellationToken: CancellationToken.None);
        await control.RequestStream.WriteAsync(new IncomingClientMessage { Hello = new IncomingHello { SessionName = "test-session" } }, cancellationToken);
        Assert.True(await control.ResponseStream.MoveNext(cancellationToken));
        var session = new TestSession(channel, control, control.ResponseStream.Current.Welcome.SessionId);
        for (var i = 0; i < serveCalls; i++)
        {
            session._servers.Add(Task.Run(() => session.ServeLoopAsync(client)));
        }

        return session;
    }

    /// <summary>The notices the agent sent on the control stream, read while waiting for an answer (<see cref="NextNoticeAsync"/> reads on).</summary>
    public List<string> Notices { get; } = [];

    public async Task<PortSubscribed> SubscribeAsync(int port, HttpFilter? filter, CancellationToken cancellationToken, SubscriptionMode mode = SubscriptionMode.Steal, ConcurrentSteal onConcurrentSteal = ConcurrentSteal.Unspecified)
    {
        await _control.RequestStream.WriteAsync(new IncomingClientMessage { Subscribe = new PortSubscription { Port = (uint)port, Mode = mode, Filter = filter, OnConcurrentSteal = onConcurrentSteal } }, cancellationToken);
        while (await _control.ResponseStream.MoveNext(cancellationToken))
        {
            if (_control.ResponseStream.Current.MessageCase == IncomingServerMessage.MessageOneofCase.Notice)
            {
                Notices.Add(_control.ResponseStream.Current.Notice.Text);
            }

            if (_control.ResponseStream.Current.MessageCase == IncomingServerMessage.MessageOneofCase.Subscribed)
            {
                return _control.ResponseStream.Current.Subscribed;
            }
        }

        throw new InvalidOperationException("The Subscribe call ended before the subscription was answered.");
    }

    /// <summary>Reads the control stream until the agent sends a notice; returns its text.</summary>
    public async Task<string> NextNoticeAsync(CancellationToken cancellationToken)
    {
        while (await _control.ResponseStream.MoveNext(cancellationToken))
        {
            if (_control.ResponseStream.Current.Notice is { } notice)
            {
                return notice.Text;
            }
        }

        throw new InvalidOperationException("The Subscribe call ended before a notice arrived.");
    }

    /// <summary>Reads the control stream until a mirror_dropped report for <paramref name="port"/> arrives; returns it.</summary>
    public async Task<MirrorDropped> NextMirrorDroppedAsync(int port, CancellationToken cancellationToken)
    {
        while (await _control.ResponseStream.MoveNext(cancellationToken))
        {
            if (_control.ResponseStream.Current.MirrorDropped is { } dropped && dropped.Port == port)
            {
                return dropped;
            }
        }

        throw new InvalidOperationException("The Subscribe call ended before a mirror_dropped report arrived.");
    }

    /// <summary>Opens Serve calls that say ready and then never read: a session that is stuck.</summary>
    public async Task<List<AsyncDuplexStreamingCall<ServeClientMessage, ServeServerMessage>>> OpenSilentServeCallsAsync(int count, CancellationToken cancellationToken)
    {
        var client = new IncomingService.IncomingServiceClient(_channel);
        var calls = new List<AsyncDuplexStreamingCall<ServeClientMessage, ServeServerMessage>>();
        for (var i = 0; i < count; i++)
        {
            var call = client.Serve(cancellationToken: _stop.Token);
            calls.Add(call);
            await call.RequestStream.WriteAsync(new ServeClientMessage { Ready = new ServeReady { SessionId = Id } }, cancellationToken);
        }

        return calls;
    }

    public Task UnsubscribeAsync(int port, CancellationToken cancellationToken) =>
        _control.RequestStream.WriteAsync(new IncomingClientMessage { Unsubscribe = new PortUnsubscription { Port = (uint)port } }, cancellationToken);

    /// <summary>Cancels the Subscribe call, as a session that goes away does.</summary>
    public void CancelSubscribeCall() => _control.Dispose();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _control.Dispose();
        await Task.WhenAll(_servers);
        _stop.Dispose();
    }

    private async Task ServeLoopAsync(IncomingService.IncomingServiceClient client)
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                using var call = client.Serve(cancellationToken: _stop.Token);
                await call.RequestStream.WriteAsync(new ServeClientMessage { Ready = new ServeReady { SessionId = Id } });
                await ServeOneCallAsync(call);
            }
            catch (RpcException)
            {
                await Task.Delay(100).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task ServeOneCallAsync(AsyncDuplexStreamingCall<ServeClientMessage, ServeServerMessage> call)
    {
        var received = new StringBuilder();
        var mirror = false;
        var upgrade = false;
        while (await call.ResponseStream.MoveNext(_stop.Token))
        {
            var message = call.ResponseStream.Current;
            if (mirror && message.MessageCase == ServeServerMessage.MessageOneofCase.Data)
            {
                lock (MirroredBytes)
                {
                    MirroredBytes.Append(message.Data.ToStringUtf8());
                }
            }
            else if (mirror && message.MessageCase == ServeServerMessage.MessageOneofCase.HalfClose)
            {
                Interlocked.Increment(ref _mirroredHalfCloses);
            }

            switch (message.MessageCase)
            {
                case ServeServerMessage.MessageOneofCase.RequestHead:
                    lock (Requests)
                    {
                        Requests.Add(message.RequestHead);
                    }

                    upgrade = message.RequestHead.Headers.Any(h => h.Name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase));

                    break;
                case ServeServerMessage.MessageOneofCase.RequestEnd when upgrade:
                    var switching = new HttpResponseHead { Status = 101 };
                    switching.Headers.Add(new HttpHeader { Name = "Upgrade", Value = "echo" });
                    switching.Headers.Add(new HttpHeader { Name = "X-Answered-By", Value = "test-session" });
                    await call.RequestStream.WriteAsync(new ServeClientMessage { ResponseHead = switching });
                    continue;
                case ServeServerMessage.MessageOneofCase.Data when upgrade:
                    await call.RequestStream.WriteAsync(new ServeClientMessage { Data = ByteString.CopyFromUtf8("session: " + message.Data.ToStringUtf8()) });
                    continue;
                case ServeServerMessage.MessageOneofCase.HalfClose when upgrade:
                    await call.RequestStream.WriteAsync(new ServeClientMessage { HalfClose = new TcpHalfClose() });
                    while (await call.ResponseStream.MoveNext(_stop.Token))
                    {
                        // the agent ends the call once the relay is over; disposing it earlier could reset what was just sent
                    }

                    return;
                case ServeServerMessage.MessageOneofCase.RequestEnd:
                    var head = new HttpResponseHead { Status = 200 };
                    head.Headers.Add(new HttpHeader { Name = "X-Answered-By", Value = "test-session" });
                    await call.RequestStream.WriteAsync(new ServeClientMessage { ResponseHead = head });
                    foreach (var part in new[] { "answered ", "by the test ", "session\n" })
                    {
                        await call.RequestStream.WriteAsync(new ServeClientMessage { Data = ByteString.CopyFromUtf8(part) });
                    }

                    await call.RequestStream.WriteAsync(new ServeClientMessage { ResponseEnd = new HttpMessageEnd() });
                    break;
                case ServeServerMessage.MessageOneofCase.Data:
                    received.Append(message.Data.ToStringUtf8());
                    break;
                case ServeServerMessage.MessageOneofCase.TcpOpen:
                    mirror = message.TcpOpen.Mirror;
                    break;
                case ServeServerMessage.MessageOneofCase.HalfClose:
                    break;
                default:
                    return;
            }

            // A whole connection: answer as soon as the request's header block is complete.
            if (received.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                received.Clear();
                var reply = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nConnection: close\r\n\r\nstolen whole\n";
                await call.RequestStream.WriteAsync(new ServeClientMessage { Data = ByteString.CopyFromUtf8(reply) });
                await call.RequestStream.WriteAsync(new ServeClientMessage { HalfClose = new TcpHalfClose() });
            }
        }
    }
}
