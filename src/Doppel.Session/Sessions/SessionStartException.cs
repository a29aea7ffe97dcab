namespace Doppel.Session.Sessions;

/// <summary>
/// The agent was reached but failed a call the session needs to start (the environment, a filter
/// name's lookup). The message says which failure, without a final period, e.g.
/// <c>the agent failed while the session started (Unavailable: …)</c>.
/// </summary>
public sealed class SessionStartException : Exception
{
    public SessionStartException()
    {
    }

    public SessionStartException(string message)
        : base(message)
    {
    }

    public SessionStartException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
