using System.Net;

namespace Doppel.Linux.Sockets;

/// <summary>One TCP socket of a <see cref="SockDiag.List"/> dump.</summary>
/// <param name="Family">AF_INET (2) or AF_INET6 (10): the dump it came from (an IPv4-mapped socket is AF_INET6).</param>
/// <param name="State">The TCP state (<see cref="SockDiag.Established"/>, <see cref="SockDiag.Listen"/>, …).</param>
/// <param name="Local">The socket's own address and port (IPv4-mapped addresses come out as IPv4).</param>
/// <param name="Remote">The peer (unspecified, port 0, for a listener).</param>
/// <param name="Inode">The socket's inode (0 for a socket no file refers to any more).</param>
/// <param name="Id">The raw <c>inet_diag_sockid</c> (48 bytes, cookie included) that <see cref="SockDiag.Destroy"/> names the socket by.</param>
/// <param name="Mark">The socket's SO_MARK; null when the lister lacks CAP_NET_ADMIN (the kernel reports marks only then).</param>
public sealed record TcpSocketEntry(byte Family, int State, IPEndPoint Local, IPEndPoint Remote, uint Inode, byte[] Id, uint? Mark);
