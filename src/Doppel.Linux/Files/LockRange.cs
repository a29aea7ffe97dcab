using System.Runtime.InteropServices;

namespace Doppel.Linux.Files;

/// <summary>
/// One <c>struct flock</c>: <see cref="Type"/> F_RDLCK/F_WRLCK/F_UNLCK, <see cref="Whence"/>
/// SEEK_SET/SEEK_CUR/SEEK_END, <see cref="Start"/> and <see cref="Length"/> in bytes (length 0: to the
/// end of the file and beyond), <see cref="Pid"/> (F_GETLK's holder; -1 for an OFD lock's).
/// </summary>
[StructLayout(LayoutKind.Auto)]
public readonly record struct LockRange(short Type, short Whence, long Start, long Length, int Pid);
