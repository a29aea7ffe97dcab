namespace Doppel.Bench;

/// <summary>
/// Runs variants in rounds, each variant once per round, rotating which goes first, so a noisy
/// stretch of the machine hits every variant alike.
/// </summary>
internal static class Interleave
{
    /// <returns>One list of samples per variant, in the variants' order.</returns>
    public static async Task<List<T>[]> RunAsync<T>(int rounds, IReadOnlyList<Func<Task<T>>> variants)
    {
        var samples = variants.Select(_ => new List<T>(rounds)).ToArray();
        for (var round = 0; round < rounds; round++)
        {
            for (var i = 0; i < variants.Count; i++)
            {
                var which = (round + i) % variants.Count;
                samples[which].Add(await variants[which]());
            }
        }

        return samples;
    }
}
