using Doppel.Protocol.V1;
using Doppel.Session.Remote;
using Microsoft.Extensions.Logging;

namespace Doppel.Session.Incoming;

/// <summary>
/// The session's Serve calls (incoming.proto): <see cref="IdleCalls"/> are kept open and idle so
/// the agent can hand over new work at once; a call that receives work is replaced by a new idle
/// one when fewer than <see cref="IdleCalls"/> are idle, and an HTTP call whose work is done is
/// idle again (so the pool grows to the peak of concurrent work and stays; a whole connection, an
/// upgrade or a failed delivery ends its call). At most <see cref="MaxCalls"/> calls exist (busy
/// ones included); beyond that, work waits at the agent for a call to become idle.
/// <code>
///   Fill ─► open Serve on a relay lane ─► ready {session_id} ─► idle
///   work arrives ─► busy (Fill opens a replacement) ─► ServeWork ─► idle again, or the call ends
/// </code>
/// </summary>
internal sealed class ServePool(
    Func<(IncomingService.IncomingServiceClient Client, IDisposable Lease)> lane,
    string sessionId,
    ServeWork work,
    BackgroundTasks tasks,
    ILogger logger,
    CancellationToken closed)
{
    /// <summary>Idle calls kept open.</summary>
    public const int IdleCalls = 4;

    /// <summary>Calls at most, idle and busy.</summary>
    public const int MaxCalls = 256;

    private static readonly TimeSpan s_retryDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_endWait = TimeSpan.FromSeconds(5);

    private readonly Lock _gate = new();
    private int _idle;
    private int _total;

    /// <summary>Opens calls until <see cref="IdleCalls"/> are idle (or <see cref="MaxCalls"/> exist).</summary>
    public void Fill()
    {
        while (!closed.IsCancellationRequested)
        {
            lock (_gate)
            {
                if (_idle >= IdleCalls || _total >= MaxCalls)
                {
                    return;
                }

                _idle++;
                _total++;
            }

            tasks.Run("incoming Serve call", RunCallAsync);
        }
    }

    private async Task RunCallAsync()
    {
        var (client, lease) = lane();
        var idle = true;
        var worked = false;
        try
        {
            using var call = client.Serve(cancellationToken: closed);
            await call.RequestStream.WriteAsync(new ServeClientMessage { Ready = new ServeReady { SessionId = sessionId } }, closed).ConfigureAwait(false);
            await work.ServeCallAsync(
                call.ResponseStream,
                call.RequestStream,
                busy: () =>
                {
                    worked = true;
                    lock (_gate)
                    {
                        _idle--;
                        idle = false;
                    }

                    Fill();
                },
                again: () =>
                {
                    // The call stays: the agent may already have handed it the next work, and a call
                    // closed while idle would lose that (the agent does not read an idle call).
                    lock (_gate)
                    {
                        _idle++;
                        idle = true;
                        return true;
                    }
                },
                closed).ConfigureAwait(false);

            // Our side ends; the agent ends its side when it has read that (bounded wait, then the call is cancelled).
            await call.RequestStream.CompleteAsync().ConfigureAwait(false);
            using var endWait = CancellationTokenSource.CreateLinkedTokenSource(closed);
            endWait.CancelAfter(s_endWait);
            while (await call.ResponseStream.MoveNext(endWait.Token).ConfigureAwait(false))
            {
            }
        }
        catch (Exception e) when (ByteRelay.IsRelayEnd(e))
        {
            IncomingLog.ServeEnded(logger, e.Message);
        }
        finally
        {
            lock (_gate)
            {
                _idle -= idle ? 1 : 0;
                _total--;
            }

            lease.Dispose();
        }

        if (!closed.IsCancellationRequested)
        {
            if (!worked)
            {
                // A call that ended without work (the agent restarting, refusing): no hot loop.
                try
                {
                    await Task.Delay(s_retryDelay, closed).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            Fill();
        }
    }
}
