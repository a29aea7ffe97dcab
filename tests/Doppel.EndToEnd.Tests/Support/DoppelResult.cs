namespace Doppel.EndToEnd.Tests.Support;

/// <summary>What one <c>doppel exec</c> run left: its exit code (the app's), the app's stdout, and stderr (doppel's progress and the app's errors).</summary>
public sealed record DoppelResult(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed)
{
    public override string ToString() => $"exit code {ExitCode} after {Elapsed.TotalSeconds:0.0} s\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}
