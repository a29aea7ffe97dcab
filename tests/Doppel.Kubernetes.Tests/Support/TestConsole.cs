using Doppel.Cli;

namespace Doppel.Kubernetes.Tests.Support;

/// <summary>Captures what a doppel command writes: results (stdout) and messages (stderr).</summary>
internal sealed class TestConsole : IUserConsole
{
    private readonly StringWriter _out = new();
    private readonly StringWriter _error = new();

    public TextWriter Out => _out;

    public TextWriter Error => _error;

    public string StdOut => _out.ToString();

    public string StdErr => _error.ToString();

    public void WriteError(string message) => _error.WriteLine("error: " + message);

    public void WriteWarning(string message) => _error.WriteLine("warning: " + message);

    public void WriteInfo(string message) => _error.WriteLine(message);
}
