namespace Doppel.Bench;

/// <summary>One finished run of a program.</summary>
/// <param name="Elapsed">Wall clock from just before the spawn until the exit was observed.</param>
/// <param name="Stdout">What the program printed.</param>
/// <param name="FileDecisions">File decisions the policy made (0 for direct runs).</param>
internal sealed record RunResult(TimeSpan Elapsed, string Stdout, long FileDecisions)
{
    /// <summary>The nanoseconds the workload printed for its own timed loop.</summary>
    public double ReportedNanoseconds => long.Parse(Stdout.Trim(), System.Globalization.CultureInfo.InvariantCulture);
}
