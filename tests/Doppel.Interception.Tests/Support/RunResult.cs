using Doppel.Interception.Supervision;

namespace Doppel.Interception.Tests.Support;

internal sealed record RunResult(int ExitCode, string Stdout, string Stderr, InterceptionStatistics? Statistics)
{
    public override string ToString() => $"exit {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}";
}
