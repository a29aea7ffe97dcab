namespace Doppel.Testing;

/// <summary>The test Kubernetes cluster could not be started, joined or used (the message says which step and why).</summary>
public sealed class KubeClusterException : Exception
{
    public KubeClusterException()
    {
    }

    public KubeClusterException(string message)
        : base(message)
    {
    }

    public KubeClusterException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
