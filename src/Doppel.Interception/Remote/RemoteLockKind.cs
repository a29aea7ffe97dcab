namespace Doppel.Interception.Remote;

/// <summary>Which lock call a <see cref="RemoteLock"/> stands for.</summary>
public enum RemoteLockKind
{
    /// <summary>fcntl F_SETLK/F_SETLKW/F_GETLK: record locks of a process on a file.</summary>
    Posix,

    /// <summary>fcntl F_OFD_SETLK/F_OFD_SETLKW/F_OFD_GETLK: record locks of an open file description.</summary>
    Ofd,

    /// <summary>flock(2): a whole-file lock of an open file description.</summary>
    Flock,
}
