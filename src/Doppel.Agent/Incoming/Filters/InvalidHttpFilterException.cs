namespace Doppel.Agent.Incoming;

/// <summary>
/// A subscription's <see cref="Doppel.Protocol.V1.HttpFilter"/> cannot be compiled (an invalid
/// regex or JSONPath query, a node without a kind, an empty list). The message is one sentence
/// naming the part, e.g. <c>any_of[1].header: '(' is not a valid regular expression: ...</c>;
/// the subscription call answers INVALID_ARGUMENT with it.
/// </summary>
internal sealed class InvalidHttpFilterException : Exception
{
    public InvalidHttpFilterException()
    {
    }

    public InvalidHttpFilterException(string message)
        : base(message)
    {
    }

    public InvalidHttpFilterException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
