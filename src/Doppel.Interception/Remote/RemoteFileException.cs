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
}
