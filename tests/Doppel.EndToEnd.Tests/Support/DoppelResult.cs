using Doppel.Testing;

namespace Doppel.EndToEnd.Tests.Support;

/// <summary>Assertions on what one <c>doppel exec</c> run left (<see cref="DoppelExecResult"/>).</summary>
public static class DoppelResult
{
    /// <summary>Asserts the exit code and the exact stdout; a failure shows the whole run (stderr too).</summary>
    public static void AssertSucceededWith(this DoppelExecResult result, string expectedStdout, int expectedExitCode = 0)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (result.ExitCode != expectedExitCode || result.Stdout != expectedStdout)
        {
            throw new Xunit.Sdk.XunitException(
                $"expected exit code {expectedExitCode} and stdout:\n{expectedStdout}\n--- but got {result}");
        }
    }
}
