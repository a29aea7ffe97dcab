namespace Doppel.Kubernetes;

/// <summary>
/// Something about the cluster or the kubeconfig that the user can fix: the message is one
/// sentence that says what is wrong and, where there is one, what to do (no stack trace).
/// </summary>
public sealed class KubeException : Exception
{
    public KubeException(string message)
        : base(message)
    {
    }

    public KubeException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public KubeException()
    {
    }
}
