namespace Doppel.Session.Forwarding;

/// <summary>A port-forward that cannot be set up on this machine (a local port in use); the message is one sentence for the person.</summary>
public sealed class PortForwardException : Exception
{
    public PortForwardException()
    {
    }

    public PortForwardException(string message)
        : base(message)
    {
    }

    public PortForwardException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
