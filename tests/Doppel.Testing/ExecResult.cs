namespace Doppel.Testing;

/// <summary>The outcome of a command the harness ran to completion.</summary>
public sealed record ExecResult(int ExitCode, string StandardOutput, string StandardError)
{
    public bool Succeeded => ExitCode == 0;

    /// <summary>Returns this result, or throws with the command's stderr when it failed.</summary>
    public ExecResult EnsureSuccess(string what)
        => Succeeded ? this : throw new MiniClusterException($"{what} failed with exit code {ExitCode}: {StandardError.Trim()}");
}
