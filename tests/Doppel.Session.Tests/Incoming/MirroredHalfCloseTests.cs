using System.Net;
using System.Net.Sockets;
using Doppel.Session.Incoming;
using Xunit;

namespace Doppel.Session.Tests.Incoming;

/// <summary>When a mirrored connection's half-close is passed on to the local app (<see cref="MirroredHalfClose"/>).</summary>
public sealed class MirroredHalfCloseTests
{
    private const long HalfClose = 100_000;

    [Fact]
    public void AnAppThatNeverAnswersGetsTheHalfCloseAfterNoAnswer()
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        var held = new MirroredHalfClose(socket);
        held.Wrote(HalfClose - 5);

        Assert.False(held.Allowed(HalfClose, HalfClose + Ms(MirroredHalfClose.NoAnswer) - 1));
        Assert.True(held.Allowed(HalfClose, HalfClose + Ms(MirroredHalfClose.NoAnswer)));
    }

    [Fact]
    public void AnAnswerToTheLastBytesAllowsTheHalfCloseOnceItHasBeenQuiet()
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        var held = new MirroredHalfClose(socket);
        held.Wrote(HalfClose - 5);
        held.Answered(HalfClose + 40);

        Assert.False(held.Allowed(HalfClose, HalfClose + 40 + Ms(MirroredHalfClose.Quiet) - 1));
        Assert.True(held.Allowed(HalfClose, HalfClose + 40 + Ms(MirroredHalfClose.Quiet)));
    }

    [Fact]
    public void AnAnswerToEarlierBytesOnlyDoesNotCount()
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        var held = new MirroredHalfClose(socket);
        held.Answered(HalfClose - 50); // the answer to an earlier request on the connection
        held.Wrote(HalfClose - 5);     // the last request, not answered yet

        Assert.False(held.Allowed(HalfClose, HalfClose + Ms(MirroredHalfClose.Quiet) * 2));
        Assert.True(held.Allowed(HalfClose, HalfClose + Ms(MirroredHalfClose.NoAnswer)));
    }

    [Fact]
    public async Task TheHalfCloseReachesTheAppAfterItsAnswer()
    {
        using var listener = new Socket(SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(listener.LocalEndPoint!);
        using var app = await listener.AcceptAsync();
        var held = new MirroredHalfClose(socket);

        await socket.SendAsync("ping"u8.ToArray());
        held.Wrote();
        var shutdown = held.ShutdownWhenAnsweredAsync(CancellationToken.None);
        var buffer = new byte[16];
        Assert.Equal(4, await app.ReceiveAsync(buffer));
        await app.SendAsync("pong"u8.ToArray());
        Assert.Equal(4, await socket.ReceiveAsync(buffer));
        held.Answered();
        await shutdown;

        Assert.Equal(0, await app.ReceiveAsync(buffer)); // the FIN, after the answer
    }

    private static long Ms(TimeSpan span) => (long)span.TotalMilliseconds;
}
