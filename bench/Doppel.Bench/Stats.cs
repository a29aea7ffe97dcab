namespace Doppel.Bench;

internal static class Stats
{
    public static double Median(IReadOnlyList<double> samples) => Percentile(samples, 0.5);

    /// <summary>Linear interpolation between the closest ranks.</summary>
    public static double Percentile(IReadOnlyList<double> samples, double fraction)
    {
        if (samples.Count == 0)
        {
            throw new ArgumentException("No samples.", nameof(samples));
        }

        var sorted = samples.Order().ToArray();
        var rank = fraction * (sorted.Length - 1);
        var low = (int)Math.Floor(rank);
        var high = (int)Math.Ceiling(rank);
        return sorted[low] + ((sorted[high] - sorted[low]) * (rank - low));
    }
}
