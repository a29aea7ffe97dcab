namespace Doppel.Session.Agent;

/// <summary>The agent could not be reached or refused the session; the message is one sentence for the user.</summary>
public sealed class AgentConnectionException : Exception
{
    public AgentConnectionException()
    {
    }

    public AgentConnectionException(string message)
        : base(message)
    {
    }

    public AgentConnectionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
