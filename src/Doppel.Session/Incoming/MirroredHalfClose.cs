using System.Net.Sockets;

namespace Doppel.Session.Incoming;

/// <summary>
/// The client's half-close of a mirrored whole connection, held back until the local app has
/// answered what it was sent. A mirror copy arrives after the original has run its course, so
/// the client's FIN follows its last bytes at once, while the real client sent it only after the
/// pod's app had answered. Many servers treat a FIN right after a request as a client that went
/// away (Kestrel aborts the request, so a body still in its buffer reads as "unexpected end of
/// request content"; Go's net/http cancels the request's context), so passed on at once it loses
/// the copy. Rules:
/// <code>
///   half_close ─► wait: the app answered after the last bytes sent to it, then was quiet for Quiet
///                     or nothing answered within NoAnswer after the half-close
///                     or the call ended ─► shutdown(SHUT_WR)
/// </code>
/// Only mirrored connections use it: a stolen connection's client is the real one, whose FIN
/// comes when it comes. The app's answers to a copy are discarded, so holding the FIN costs the
/// pod's clients nothing.
/// </summary>
internal sealed class MirroredHalfClose(Socket socket)
{
    /// <summary>How long the app's answer must have been quiet (ms granularity of <see cref="Environment.TickCount64"/>).</summary>
    public static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(250);

    /// <summary>How long to wait after the half-close for an app that does not answer at all.</summary>
    public static readonly TimeSpan NoAnswer = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan s_poll = TimeSpan.FromMilliseconds(25);

    private long _lastWrite;
    private long _lastAnswer;

    /// <summary>Bytes were sent to the app.</summary>
    public void Wrote() => Wrote(Environment.TickCount64);

    /// <summary>The app sent bytes back.</summary>
    public void Answered() => Answered(Environment.TickCount64);

    /// <summary>Bytes were sent to the app at <paramref name="at"/> (TickCount64 ms).</summary>
    internal void Wrote(long at) => Volatile.Write(ref _lastWrite, at);

    /// <summary>The app sent bytes back at <paramref name="at"/> (TickCount64 ms).</summary>
    internal void Answered(long at) => Volatile.Write(ref _lastAnswer, at);

    /// <summary>
    /// Shuts the socket's sending side once the rules above allow it, or at once when
    /// <paramref name="cancellationToken"/> is cancelled. Never throws: a socket the app closed
    /// or the relay disposed meanwhile needs no half-close.
    /// </summary>
    public async Task ShutdownWhenAnsweredAsync(CancellationToken cancellationToken)
    {
        var since = Environment.TickCount64;
        try
        {
            while (!Allowed(since, Environment.TickCount64))
            {
                await Task.Delay(s_poll, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // the call ended: close now
        }

        try
        {
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // the app closed first, or the relay is over
        }
    }

    /// <summary>The rules above, at <paramref name="now"/> for a half-close received at <paramref name="since"/> (both TickCount64 ms).</summary>
    internal bool Allowed(long since, long now)
    {
        var lastAnswer = Volatile.Read(ref _lastAnswer);
        var answered = lastAnswer != 0 && lastAnswer >= Volatile.Read(ref _lastWrite);
        return answered
            ? now - Math.Max(lastAnswer, since) >= (long)Quiet.TotalMilliseconds
            : now - since >= (long)NoAnswer.TotalMilliseconds;
    }
}
