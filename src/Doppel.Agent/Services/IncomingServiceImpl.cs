using Doppel.Agent.Incoming;
using Doppel.Agent.Sessions;
using Doppel.Protocol.Incoming;
using Doppel.Protocol.V1;
using Grpc.Core;

namespace Doppel.Agent.Services;

/// <summary>
/// Incoming traffic (incoming.proto): Subscribe is a session's control stream, Serve its work
/// calls. The state lives in the agent's one <see cref="IncomingHub"/>.
/// </summary>
internal sealed class IncomingServiceImpl(IncomingHub hub, AgentSessions sessions) : IncomingService.IncomingServiceBase
{
    public override async Task Subscribe(IAsyncStreamReader<IncomingClientMessage> requestStream, IServerStreamWriter<IncomingServerMessage> responseStream, ServerCallContext context)
    {
        var cancellationToken = context.CancellationToken;
        if (!await requestStream.MoveNext(cancellationToken).ConfigureAwait(false) || requestStream.Current.MessageCase != IncomingClientMessage.MessageOneofCase.Hello)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "A Subscribe call starts with a hello message."));
        }

        var hello = requestStream.Current.Hello;
        var owner = sessions.ForConnection(context.GetHttpContext().Connection.Id);
        var session = hub.AddSession(hello.SessionName, responseStream, hello.WholeMessages, owner);
        try
        {
            await session.SendAsync(new IncomingServerMessage { Welcome = new IncomingWelcome { SessionId = session.Id, WholeMessages = true } }).ConfigureAwait(false);
            while (await requestStream.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                var message = requestStream.Current;
                switch (message.MessageCase)
                {
                    case IncomingClientMessage.MessageOneofCase.Subscribe:
                        PortSubscribed answer;
                        try
                        {
                            answer = await hub.SubscribeAsync(session, message.Subscribe, cancellationToken).ConfigureAwait(false);
                        }
                        catch (InvalidHttpFilterException e)
                        {
                            throw new RpcException(new Status(StatusCode.InvalidArgument, $"The filter of port {message.Subscribe.Port} is invalid: {e.Message}"));
                        }
                        catch (InvalidOperationException e)
                        {
                            throw new RpcException(new Status(StatusCode.FailedPrecondition, e.Message));
                        }

                        if (answer.Error is null)
                        {
                            owner?.Subscribed(session.Id, (int)message.Subscribe.Port, message.Subscribe.Mode, HttpFilterText.Format(message.Subscribe.Filter));
                        }

                        await session.SendAsync(new IncomingServerMessage { Subscribed = answer }).ConfigureAwait(false);
                        break;
                    case IncomingClientMessage.MessageOneofCase.Unsubscribe:
                        await hub.UnsubscribeAsync(session, (int)message.Unsubscribe.Port, cancellationToken).ConfigureAwait(false);
                        owner?.Unsubscribed((int)message.Unsubscribe.Port);
                        break;
                    default:
                        throw new RpcException(new Status(StatusCode.InvalidArgument, "hello is only the first message of a Subscribe call."));
                }
            }
        }
        catch (IOException) when (cancellationToken.IsCancellationRequested)
        {
            // the session's connection broke or it reset the call: the same as the call ending
        }
        catch (IOException e)
        {
            // Anything else (the redirect or its listener in the target's namespace failed) is the
            // session's to see, with the reason, rather than a call that just ends.
            throw new RpcException(new Status(StatusCode.Internal, $"The agent could not serve this subscription: {e.Message}"));
        }
        finally
        {
            owner?.CallEnded(session.Id);
            await hub.EndSessionAsync(session).ConfigureAwait(false);
            session.Dispose();
        }
    }

    public override async Task Serve(IAsyncStreamReader<ServeClientMessage> requestStream, IServerStreamWriter<ServeServerMessage> responseStream, ServerCallContext context)
    {
        var callToken = context.CancellationToken;
        if (!await requestStream.MoveNext(callToken).ConfigureAwait(false) || requestStream.Current.MessageCase != ServeClientMessage.MessageOneofCase.Ready)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "A Serve call starts with a ready message."));
        }

        var session = hub.Find(requestStream.Current.Ready.SessionId)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"No session {requestStream.Current.Ready.SessionId} is subscribed (its Subscribe call ended, or the id is wrong)."));
        using var streams = new ServeStreams(requestStream, responseStream, session.WholeMessages);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(callToken, session.Ended);
        while (true)
        {
            var idle = new IdleServe();
            session.AddIdle(idle);
            IncomingWork work;
            using (linked.Token.Register(idle.Cancel))
            {
                try
                {
                    work = await idle.Work.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            if (!await work.RunAsync(streams, linked.Token).ConfigureAwait(false))
            {
                return;
            }
        }
    }
}
