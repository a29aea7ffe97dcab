namespace Doppel.Bench;

/// <summary>A problem the user can fix (a missing tool); printed as one message without a stack trace.</summary>
internal sealed class BenchException : Exception
{
    public BenchException()
    {
    }

    public BenchException(string message)
        : base(message)
    {
    }

    public BenchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
