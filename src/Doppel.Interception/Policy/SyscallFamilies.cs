namespace Doppel.Interception.Policy;

/// <summary>
/// Groups of syscalls the filter can trap. Only what the configuration needs is trapped:
/// every trapped call costs a round trip to the supervisor, untrapped calls cost nothing.
/// </summary>
[Flags]
public enum SyscallFamilies
{
    None = 0,

    /// <summary>connect (TCP and connected UDP), getpeername and getsockname.</summary>
    Outgoing = 1 << 0,

    /// <summary>sendto/sendmsg/sendmmsg with a destination and recvfrom/recvmsg/recvmmsg with a source buffer (unconnected UDP).</summary>
    OutgoingUdp = 1 << 1,

    /// <summary>bind/listen: the ports the app serves.</summary>
    Listen = 1 << 2,

    /// <summary>
    /// open/openat/openat2/creat, the stat family, access family, readlink, xattr reads; chdir/fchdir/getcwd
    /// (the working directory in the pod); link/symlink and their *at forms; execve/execveat (a relative
    /// program in a pod directory).
    /// </summary>
    FilesRead = 1 << 3,

    /// <summary>
    /// mkdir/unlink/rename/rmdir/truncate, chmod/chown/utimensat with a path (write mode; link and
    /// symlink are trapped with <see cref="FilesRead"/>); implies nothing without <see cref="FilesRead"/>.
    /// </summary>
    FilesWrite = 1 << 4,

    /// <summary>uname (the pod's nodename).</summary>
    Hostname = 1 << 5,

    /// <summary>
    /// accept/accept4 with an address buffer (incoming delivery on): on a listener the session
    /// delivers to (<see cref="IInterceptionPolicy.DeliversTo"/>) doppel accepts for the app, so a
    /// delivered connection's address is the original client's. Every other accept continues.
    /// </summary>
    Accept = 1 << 6,

    /// <summary>
    /// close/fsync/fdatasync (write mode only): a written pod file's content goes to the pod at these
    /// calls and a failure is the call's EIO. Every close is trapped: its cost is one supervisor round trip.
    /// </summary>
    FilesWriteThrough = 1 << 7,

    /// <summary>
    /// flock, fcntl with a lock command only (F_SETLK, F_SETLKW, F_GETLK and the F_OFD_ forms: the
    /// filter compares the command, so every other fcntl stays in the kernel) and close (to release a
    /// closed fd's locks): locks on pod files are taken in the pod. A close costs one supervisor
    /// round trip, and no more than that while the program holds no pod lock.
    /// </summary>
    FileLocks = 1 << 8,
}
