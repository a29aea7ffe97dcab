namespace Doppel.Bench;

/// <summary>How much work the port-forward figures (11–12, <c>--kube</c>) do.</summary>
/// <param name="Rounds">Interleaved PodPortForward/kubectl rounds.</param>
/// <param name="BulkBytes">Bytes pushed or pulled per run of figure 11.</param>
/// <param name="RoundTrips">64-byte round trips on one stream per run of figure 12.</param>
/// <param name="Connects">New streams (open, 64 bytes there and back, close) per run of figure 12.</param>
internal sealed record KubeSettings(int Rounds, long BulkBytes, int RoundTrips, int Connects)
{
    public static KubeSettings Full { get; } = new(Rounds: 3, BulkBytes: 64L << 20, RoundTrips: 2_000, Connects: 50);

    public static KubeSettings Quick { get; } = new(Rounds: 1, BulkBytes: 16L << 20, RoundTrips: 500, Connects: 10);
}
