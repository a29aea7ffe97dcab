using System.Globalization;
using System.Net;
using Doppel.Interception.Remote;
using Doppel.Linux.Processes;
using Doppel.Linux.Sockets;
using Microsoft.Win32.SafeHandles;

namespace Doppel.Interception.Network;

/// <summary>
/// An app's connected UDP socket, reached again when needed through a pidfd of the app's process
/// and the fd number it connected with (pidfd_getfd), checked by inode. Holding no duplicate lets
/// the app's close really close the socket.
/// </summary>
internal sealed class AppUdpSocket : IConnectedUdpSocket
{
    private const int MsgDontWait = 0x40;

    private readonly SafeFileHandle _process;
    private readonly int _fd;
    private readonly ulong _inode;

    private AppUdpSocket(SafeFileHandle process, int fd, ulong inode)
    {
        _process = process;
        _fd = fd;
        _inode = inode;
    }

    /// <summary>
    /// For fd <paramref name="fd"/> (socket <paramref name="inode"/>) of the process that thread
    /// <paramref name="threadId"/> belongs to (fds are shared by its threads; the calling thread
    /// may end before the socket does); null when the process cannot be opened.
    /// </summary>
    public static AppUdpSocket? Open(int threadId, int fd, ulong inode)
    {
        var process = Pidfd.TryOpen(ProcessIdOf(threadId) ?? threadId, out _);
        return process is null ? null : new AppUdpSocket(process, fd, inode);
    }

    public bool IsConnectedTo(IPEndPoint standIn)
    {
        using var dup = Duplicate();
        if (dup is null)
        {
            return false;
        }

        Span<byte> peer = stackalloc byte[SockAddr.MaxLength];
        var length = SocketCalls.GetPeerName(dup, peer);
        return length > 0 && SockAddr.Parse(peer[..length]) is { } actual && actual.Equals(standIn);
    }

    public bool SendEmpty()
    {
        using var dup = Duplicate();
        return dup is not null && SocketCalls.SendTo(dup, [], MsgDontWait, []) == 0;
    }

    public void Dispose() => _process.Dispose();

    private SafeFileHandle? Duplicate()
    {
        var dup = Pidfd.TryGetFd(_process, _fd, out _);
        if (dup is not null && FileCalls.GetInode(dup) != _inode)
        {
            dup.Dispose();
            return null;
        }

        return dup;
    }

    private static int? ProcessIdOf(int threadId)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{threadId}/status"))
            {
                if (line.StartsWith("Tgid:", StringComparison.Ordinal))
                {
                    return int.Parse(line.AsSpan(5).Trim(), CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }

        return null;
    }
}
