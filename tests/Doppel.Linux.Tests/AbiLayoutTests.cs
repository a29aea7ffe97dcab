using Doppel.Linux.Native;
using Doppel.Linux.Processes;
using Doppel.Linux.Sockets;
using Doppel.Linux.Tests.Support;

namespace Doppel.Linux.Tests;

/// <summary>
/// The struct layouts and constants Doppel.Linux writes down by hand (<see cref="MessageHeader"/>,
/// <see cref="Utsname"/>, <see cref="OpenFlags"/>, <see cref="SocketCalls"/>' constants) against what gcc makes of the C
/// headers on this machine.
/// </summary>
public sealed class AbiLayoutTests
{
    private static readonly Lazy<IReadOnlyDictionary<string, long>> CValues = new(() => KernelHeaders.Print(
        """
        #include <fcntl.h>
        #include <sys/socket.h>
        #include <sys/uio.h>
        #include <sys/utsname.h>
        #include <netinet/in.h>
        #include <netinet/tcp.h>
        """,
        """
            P("sizeof(msghdr)", sizeof(struct msghdr));
            P("msg_name", offsetof(struct msghdr, msg_name));
            P("msg_namelen", offsetof(struct msghdr, msg_namelen));
            P("msg_iov", offsetof(struct msghdr, msg_iov));
            P("msg_iovlen", offsetof(struct msghdr, msg_iovlen));
            P("msg_control", offsetof(struct msghdr, msg_control));
            P("msg_controllen", offsetof(struct msghdr, msg_controllen));
            P("msg_flags", offsetof(struct msghdr, msg_flags));
            P("sizeof(mmsghdr)", sizeof(struct mmsghdr));
            P("msg_len", offsetof(struct mmsghdr, msg_len));
            P("sizeof(iovec)", sizeof(struct iovec));
            P("sizeof(utsname)", sizeof(struct utsname));
            P("sizeof(utsname.nodename)", sizeof(((struct utsname *)0)->nodename));
            P("sysname", offsetof(struct utsname, sysname));
            P("nodename", offsetof(struct utsname, nodename));
            P("release", offsetof(struct utsname, release));
            P("version", offsetof(struct utsname, version));
            P("machine", offsetof(struct utsname, machine));
            P("domainname", offsetof(struct utsname, domainname));
            P("AF_UNIX", AF_UNIX);
            P("AF_INET", AF_INET);
            P("AF_INET6", AF_INET6);
            P("SOCK_STREAM", SOCK_STREAM);
            P("SOCK_DGRAM", SOCK_DGRAM);
            P("SOCK_CLOEXEC", SOCK_CLOEXEC);
            P("SOL_SOCKET", SOL_SOCKET);
            P("SO_ERROR", SO_ERROR);
            P("O_NONBLOCK", O_NONBLOCK);
            P("TCP_SYN_SENT", TCP_SYN_SENT);
            P("TCP_CLOSE", TCP_CLOSE);
            P("O_ACCMODE", O_ACCMODE);
            P("O_RDONLY", O_RDONLY);
            P("O_WRONLY", O_WRONLY);
            P("O_RDWR", O_RDWR);
            P("O_CREAT", O_CREAT);
            P("O_EXCL", O_EXCL);
            P("O_TRUNC", O_TRUNC);
            P("O_APPEND", O_APPEND);
            P("O_DIRECTORY", O_DIRECTORY);
            P("O_NOFOLLOW", O_NOFOLLOW);
            P("O_CLOEXEC", O_CLOEXEC);
            P("O_PATH", O_PATH);
            P("O_TMPFILE", O_TMPFILE);
            P("AT_FDCWD", AT_FDCWD);
            P("AT_SYMLINK_NOFOLLOW", AT_SYMLINK_NOFOLLOW);
            P("AT_REMOVEDIR", AT_REMOVEDIR);
            P("AT_EACCESS", AT_EACCESS);
            P("AT_SYMLINK_FOLLOW", AT_SYMLINK_FOLLOW);
            P("AT_EMPTY_PATH", AT_EMPTY_PATH);
        """));

    public static TheoryData<string, long> Ours => new()
    {
        { "sizeof(msghdr)", MessageHeader.Length },
        { "msg_name", MessageHeader.NameOffset },
        { "msg_namelen", MessageHeader.NameLengthOffset },
        { "msg_iov", MessageHeader.IovOffset },
        { "msg_iovlen", MessageHeader.IovLengthOffset },
        { "msg_control", MessageHeader.ControlOffset },
        { "msg_controllen", MessageHeader.ControlLengthOffset },
        { "msg_flags", MessageHeader.FlagsOffset },
        { "sizeof(mmsghdr)", MessageHeader.MmsgLength },
        { "msg_len", MessageHeader.MmsgLengthOffset },
        { "sizeof(iovec)", MessageHeader.IovecLength },
        { "sizeof(utsname)", Utsname.Length },
        { "sizeof(utsname.nodename)", Utsname.FieldLength },
        { "sysname", Utsname.SysnameOffset },
        { "nodename", Utsname.NodenameOffset },
        { "release", Utsname.ReleaseOffset },
        { "version", Utsname.VersionOffset },
        { "machine", Utsname.MachineOffset },
        { "domainname", Utsname.DomainnameOffset },
        { "AF_UNIX", SocketCalls.AfUnix },
        { "AF_INET", SocketCalls.AfInet },
        { "AF_INET6", SocketCalls.AfInet6 },
        { "SOCK_STREAM", SocketCalls.SockStream },
        { "SOCK_DGRAM", SocketCalls.SockDgram },
        { "SOCK_CLOEXEC", SocketCalls.SockCloexec },
        { "SOL_SOCKET", SocketCalls.SolSocketLevel },
        { "SO_ERROR", SocketCalls.SoErrorOption },
        { "O_NONBLOCK", SocketCalls.ONonBlock },
        { "TCP_SYN_SENT", SocketCalls.TcpSynSent },
        { "TCP_CLOSE", SocketCalls.TcpClose },
        { "O_ACCMODE", OpenFlags.AccessModeMask },
        { "O_RDONLY", OpenFlags.ReadOnly },
        { "O_WRONLY", OpenFlags.WriteOnly },
        { "O_RDWR", OpenFlags.ReadWrite },
        { "O_CREAT", OpenFlags.Create },
        { "O_EXCL", OpenFlags.Exclusive },
        { "O_TRUNC", OpenFlags.Truncate },
        { "O_APPEND", OpenFlags.Append },
        { "O_DIRECTORY", OpenFlags.Directory },
        { "O_NOFOLLOW", OpenFlags.NoFollow },
        { "O_CLOEXEC", OpenFlags.CloseOnExec },
        { "O_PATH", OpenFlags.Path },
        { "O_TMPFILE", OpenFlags.TmpFile },
        { "AT_FDCWD", OpenFlags.AtFdCwd },
        { "AT_SYMLINK_NOFOLLOW", OpenFlags.AtSymlinkNoFollow },
        { "AT_REMOVEDIR", OpenFlags.AtRemoveDir },
        { "AT_EACCESS", OpenFlags.AtEaccess },
        { "AT_SYMLINK_FOLLOW", OpenFlags.AtSymlinkFollow },
        { "AT_EMPTY_PATH", OpenFlags.AtEmptyPath },
    };

    [Theory]
    [MemberData(nameof(Ours))]
    public void Matches_the_C_headers(string what, long ours)
    {
        Assert.True(CValues.Value.TryGetValue(what, out var c), $"the C program printed no {what}");
        Assert.Equal(c, ours);
    }
}
