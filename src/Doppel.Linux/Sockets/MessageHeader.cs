namespace Doppel.Linux.Sockets;

/// <summary>
/// The x86_64 layout of <c>struct msghdr</c> and <c>struct mmsghdr</c> (include/linux/socket.h,
/// include/uapi/linux/socket.h as sendmsg(2)/recvmmsg(2) take them): offsets and sizes in bytes.
/// <code>
///   msghdr:  0 msg_name (ptr)   8 msg_namelen (int, padded)   16 msg_iov (ptr)   24 msg_iovlen (size_t)
///           32 msg_control (ptr)   40 msg_controllen (size_t)   48 msg_flags (int, padded)   = 56
///   mmsghdr: msghdr, then 56 msg_len (unsigned int, padded)                                 = 64
///   iovec:   0 iov_base (ptr)   8 iov_len (size_t)                                           = 16
/// </code>
/// </summary>
public static class MessageHeader
{
    public const int NameOffset = 0;
    public const int NameLengthOffset = 8;
    public const int IovOffset = 16;
    public const int IovLengthOffset = 24;
    public const int ControlOffset = 32;
    public const int ControlLengthOffset = 40;
    public const int FlagsOffset = 48;

    /// <summary>sizeof(struct msghdr).</summary>
    public const int Length = 56;

    /// <summary>Offset of msg_len in <c>struct mmsghdr</c>.</summary>
    public const int MmsgLengthOffset = Length;

    /// <summary>sizeof(struct mmsghdr).</summary>
    public const int MmsgLength = 64;

    /// <summary>sizeof(struct iovec).</summary>
    public const int IovecLength = 16;
}
