using System.Net;
using System.Text;
using Doppel.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Doppel.Agent.Tests.Outgoing;

/// <summary>One ConnectTcp call as a test drives it: connect, send, half-close, read to the agent's half-close.</summary>
internal sealed class TcpCall : IDisposable
{
    private readonly AsyncDuplexStreamingCall<TcpClientMessage, TcpServerMessage> _call;

    private TcpCall(AsyncDuplexStreamingCall<TcpClientMessage, TcpServerMessage> call, TcpConnectResult result)
    {
        _call = call;
        Result = result;
    }

    public TcpConnectResult Result { get; }

    public static async Task<TcpCall> ConnectAsync(Grpc.Net.Client.GrpcChannel channel, IPEndPoint destination, CancellationToken cancellationToken, uint timeoutMs = 0)
    {
        var call = new OutgoingService.OutgoingServiceClient(channel).ConnectTcp(cancellationToken: cancellationToken);
        await call.RequestStream.WriteAsync(new TcpClientMessage { Connect = new TcpConnect { Destination = SockAddr.FromIPEndPoint(destination), TimeoutMs = timeoutMs } }, cancellationToken);
        Assert.True(await call.ResponseStream.MoveNext(cancellationToken));
        Assert.Equal(TcpServerMessage.MessageOneofCase.ConnectResult, call.ResponseStream.Current.MessageCase);
        return new TcpCall(call, call.ResponseStream.Current.ConnectResult);
    }

    public Task SendAsync(string text, CancellationToken cancellationToken) =>
        _call.RequestStream.WriteAsync(new TcpClientMessage { Data = ByteString.CopyFromUtf8(text) }, cancellationToken);

    public Task HalfCloseAsync(CancellationToken cancellationToken) =>
        _call.RequestStream.WriteAsync(new TcpClientMessage { HalfClose = new TcpHalfClose() }, cancellationToken);

    /// <summary>Reads data until the agent's half_close (true) or until <paramref name="until"/> has arrived (false).</summary>
    public async Task<(string Text, bool HalfClosed)> ReceiveAsync(CancellationToken cancellationToken, string? until = null)
    {
        var text = new StringBuilder();
        while (await _call.ResponseStream.MoveNext(cancellationToken))
        {
            var message = _call.ResponseStream.Current;
            switch (message.MessageCase)
            {
                case TcpServerMessage.MessageOneofCase.Data:
                    text.Append(message.Data.ToStringUtf8());
                    if (until is not null && text.ToString().Contains(until, StringComparison.Ordinal))
                    {
                        return (text.ToString(), false);
                    }

                    break;
                case TcpServerMessage.MessageOneofCase.HalfClose:
                    return (text.ToString(), true);
                default:
                    throw new InvalidOperationException($"Unexpected {message.MessageCase}: {message}");
            }
        }

        throw new InvalidOperationException("The call ended before the agent half-closed.");
    }

    /// <summary>Completes the request stream and waits for the call's status.</summary>
    public async Task<StatusCode> FinishAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _call.RequestStream.CompleteAsync();
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.OK)
        {
            // the agent had already ended the call (a failed connect)
        }

        while (await _call.ResponseStream.MoveNext(cancellationToken))
        {
        }

        return _call.GetStatus().StatusCode;
    }

    public void Dispose() => _call.Dispose();
}
