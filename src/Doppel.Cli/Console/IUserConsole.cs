namespace Doppel.Cli;

/// <summary>
/// Where commands write. <see cref="Out"/> carries results (JSON, schema) and nothing else, so it
/// can be piped; messages for the person go to standard error.
/// </summary>
public interface IUserConsole
{
    TextWriter Out { get; }

    TextWriter Error { get; }

    void WriteError(string message);

    void WriteWarning(string message);

    void WriteInfo(string message);
}
