namespace Doppel.Session.Env;

/// <summary>The env file cannot be read or has a malformed line; the message names the file and line.</summary>
public sealed class EnvFileException : Exception
{
    public EnvFileException()
    {
    }

    public EnvFileException(string message)
        : base(message)
    {
    }

    public EnvFileException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
