namespace Doppel.Interception.Remote;

/// <summary>A remote file operation failed with an errno the app should see (e.g. EACCES, ENOTDIR).</summary>
public sealed class RemoteFileException : IOException
{
    public RemoteFileException()
    {
    }

    public RemoteFileException(string message)
        : base(message)
    {
    }

    public RemoteFileException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public RemoteFileException(int errno, string message)
        : base(message) => Errno = errno;

    /// <summary>The errno answered to the app (EIO when unknown).</summary>
    public int Errno { get; } = 5;

    /// <summary>
    /// For a whole-file write the agent answered with an error: true when it was writing the file
    /// itself (a mounted single file, one with other hard links, ...), which may now hold part of
    /// the new bytes; false when it was writing a new file to rename over it, so the file keeps its
    /// previous content. Null when unknown (the agent did not answer) or for other calls.
    /// </summary>
    public bool? WrittenInPlace { get; init; }

    /// <summary>
    /// True when the agent did not answer the call at all (it is gone, stopped or hung, or the call's
    /// deadline passed): the errno is then EIO, and the advice is about the agent, not the path.
    /// </summary>
    public bool Unanswered { get; init; }
}
