namespace Doppel.Testing;

/// <summary>The mini-cluster could not be built (the message says which step and why).</summary>
public sealed class MiniClusterException : Exception
{
    public MiniClusterException()
    {
    }

    public MiniClusterException(string message)
        : base(message)
    {
    }

    public MiniClusterException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
