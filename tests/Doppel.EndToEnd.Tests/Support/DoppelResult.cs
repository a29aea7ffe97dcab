namespace Doppel.EndToEnd.Tests.Support;

/// <summary>What one <c>doppel exec</c> run left: its exit code (the app's), the app's stdout, and stderr (doppel's progress and the app's errors).</summary>
public sealed record DoppelResult(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed)
{
    /// <summary>Asserts the exit code and the exact stdout; a failure shows the whole run (stderr too).</summary>
    public void AssertSucceededWith(string expectedStdout, int expectedExitCode = 0)
    {
        if (ExitCode != expectedExitCode || Stdout != expectedStdout)
        {
            throw new Xunit.Sdk.XunitException(
                $"expected exit code {expectedExitCode} and stdout:\n{expectedStdout}\n--- but got {this}");
        }
    }

    public override string ToString() => $"exit code {ExitCode} after {Elapsed.TotalSeconds:0.0} s\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}
