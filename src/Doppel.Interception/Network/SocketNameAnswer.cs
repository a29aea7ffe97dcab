using System.Buffers.Binary;
using System.Net;
using Doppel.Interception.Policy;
using Doppel.Interception.Supervision;
using Doppel.Linux.Native;
using Doppel.Linux.Sockets;
using Microsoft.Win32.SafeHandles;

namespace Doppel.Interception.Network;

/// <summary>The answers of a trapped getpeername/getsockname: the app's buffer gets an address we chose.</summary>
internal static class SocketNameAnswer
{
    /// <summary>
    /// Writes <paramref name="name"/> (formatted for the socket's family) into the app's
    /// <c>(addr, addrlen)</c> arguments as the kernel would (truncated to the room given, the full
    /// length in <c>addrlen</c>), and answers 0; continues the call when the answer cannot be formed.
    /// </summary>
    public static HandlerResult Write(Notification notification, SafeFileHandle dup, IPEndPoint name)
    {
        var answer = SockAddr.Format(name, SocketCalls.GetSocketDomain(dup));
        Span<byte> lengthBytes = stackalloc byte[4];
        if (answer is null || !notification.Read(notification.Arg(2), lengthBytes) || !notification.IsValid())
        {
            return notification.Continue();
        }

        var room = BinaryPrimitives.ReadInt32LittleEndian(lengthBytes);
        if (room < 0)
        {
            return notification.Fail(Errno.EINVAL);
        }

        return WriteAddress(notification, answer, room) ? notification.Return(0) : notification.Fail(Errno.EFAULT);
    }

    /// <summary>
    /// Writes <paramref name="address"/> into the call's <c>(addr, addrlen)</c> arguments (1 and 2):
    /// at most <paramref name="room"/> bytes of it (the <c>*addrlen</c> the app passed), and its full
    /// length into <c>*addrlen</c>, as getpeername(2) and accept(2) do. False when the app's memory
    /// could not be written (the call then fails with EFAULT).
    /// </summary>
    public static bool WriteAddress(Notification notification, ReadOnlySpan<byte> address, int room)
    {
        Span<byte> lengthBytes = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(lengthBytes, address.Length);
        return notification.Write(notification.Arg(1), address[..Math.Min(room, address.Length)])
            && notification.Write(notification.Arg(2), lengthBytes);
    }

    /// <summary>
    /// getpeername of a socket the app accepted from the session's delivery of a whole TCP
    /// connection: the original client (<see cref="IInterceptionPolicy.OriginalClient"/>) instead
    /// of the session's relay socket on loopback. Null when the socket is no such one.
    /// </summary>
    public static HandlerResult? DeliveredPeer(Notification notification, SafeFileHandle dup, IInterceptionPolicy policy)
    {
        Span<byte> raw = stackalloc byte[SockAddr.MaxLength];
        var length = SocketCalls.GetPeerName(dup, raw);
        if (length <= 0 || SockAddr.Parse(raw[..length]) is not { } peer || policy.OriginalClient(peer) is not { } client)
        {
            return null;
        }

        return Write(notification, dup, client);
    }
}
