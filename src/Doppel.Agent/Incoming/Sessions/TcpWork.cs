using System.Buffers;
using System.Net;
using Doppel.Protocol;
using Doppel.Protocol.V1;
using Google.Protobuf;
using Microsoft.AspNetCore.Connections;

namespace Doppel.Agent.Incoming;

/// <summary>
/// A whole redirected TCP connection handed to a session (an unfiltered steal):
/// <code>
///   client ──bytes──► Kestrel transport ──data…half_close──► Serve call ──► session
///   client ◄──bytes── Kestrel transport ◄──data…half_close── Serve call ◄── session
/// </code>
/// tcp_open first; each direction ends with a half-close. A session <c>error</c>, the call or the
/// session ending, resets the client's connection. The Serve call ends with the connection.
/// </summary>
internal sealed class TcpWork(ConnectionContext connection, int port, IPEndPoint? client, IPEndPoint original) : IncomingWork
{
    protected override async Task<bool> RunCoreAsync(ServeStreams call, CancellationToken cancellationToken)
    {
        var open = new IncomingTcpOpen { Id = Id, Port = (uint)port, OriginalDestination = SockAddr.FromIPEndPoint(original) };
        if (client is not null)
        {
            open.Client = SockAddr.FromIPEndPoint(client);
        }

        using var abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            await call.WriteAsync(new ServeServerMessage { TcpOpen = open }, cancellationToken).ConfigureAwait(false);
            var toSession = ToSessionAsync(call, abort.Token);
            var toClient = ToClientAsync(call, abort.Token);
            var first = await Task.WhenAny(toSession, toClient).ConfigureAwait(false);
            if (await first.ConfigureAwait(false))
            {
                if (!await (first == toSession ? toClient : toSession).ConfigureAwait(false))
                {
                    await AbortAsync(abort, toSession, toClient).ConfigureAwait(false);
                }
            }
            else
            {
                await AbortAsync(abort, toSession, toClient).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
        {
            connection.Abort(new ConnectionAbortedException("The session's call ended."));
        }

        return false;
    }

    protected override Task FailCoreAsync(string reason)
    {
        connection.Abort(new ConnectionAbortedException(reason));
        return Task.CompletedTask;
    }

    private async Task AbortAsync(CancellationTokenSource abort, Task<bool> toSession, Task<bool> toClient)
    {
        connection.Abort(new ConnectionAbortedException("The session reset the connection."));
        await abort.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(toSession, toClient).ConfigureAwait(false);
    }

    // client --bytes--> session; true when it ended with a half-close.
    private async Task<bool> ToSessionAsync(ServeStreams call, CancellationToken cancellationToken)
    {
        var input = connection.Transport.Input;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = result.Buffer;
                while (!buffer.IsEmpty)
                {
                    var chunk = buffer.Slice(0, Math.Min(buffer.Length, Relay.ChunkSize));
                    await call.WriteAsync(new ServeServerMessage { Data = ByteString.CopyFrom(chunk.ToArray()) }, cancellationToken).ConfigureAwait(false);
                    buffer = buffer.Slice(chunk.End);
                }

                input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }

            await input.CompleteAsync().ConfigureAwait(false);
            await call.WriteAsync(new ServeServerMessage { HalfClose = new TcpHalfClose() }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException or ConnectionResetException)
        {
            return false;
        }
    }

    // session --bytes--> client; true when it ended with a half-close.
    private async Task<bool> ToClientAsync(ServeStreams call, CancellationToken cancellationToken)
    {
        var output = connection.Transport.Output;
        try
        {
            while (await call.Requests.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                var message = call.Requests.Current;
                switch (message.MessageCase)
                {
                    case ServeClientMessage.MessageOneofCase.Data:
                        await output.WriteAsync(message.Data.Memory, cancellationToken).ConfigureAwait(false);
                        break;
                    case ServeClientMessage.MessageOneofCase.HalfClose:
                        await output.CompleteAsync().ConfigureAwait(false);
                        return true;
                    default:
                        return false; // error, or a message that has no place in a TCP relay
                }
            }

            await output.CompleteAsync().ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
        {
            return false;
        }
    }
}
