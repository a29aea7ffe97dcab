namespace Doppel.Bench;

/// <summary>How much work the mini-cluster figures (4–7) do.</summary>
/// <param name="Rounds">Interleaved direct/doppel rounds of figures 4–6.</param>
/// <param name="BulkBytes">Bytes pulled or pushed per run of figure 4.</param>
/// <param name="RoundTrips">64-byte round trips on one connection per run of figure 5.</param>
/// <param name="Connects">New connections (connect, 64 bytes there and back, close) per run of figure 5.</param>
/// <param name="FileBytes">Size of the pod file figure 6 reads.</param>
/// <param name="HeldConnections">Relayed connections the app holds open in figure 7.</param>
internal sealed record ClusterSettings(int Rounds, long BulkBytes, int RoundTrips, int Connects, long FileBytes, int HeldConnections)
{
    public static ClusterSettings Full { get; } = new(Rounds: 3, BulkBytes: 256L << 20, RoundTrips: 10_000, Connects: 500, FileBytes: 128L << 20, HeldConnections: 100);

    public static ClusterSettings Quick { get; } = new(Rounds: 1, BulkBytes: 32L << 20, RoundTrips: 2_000, Connects: 100, FileBytes: 32L << 20, HeldConnections: 100);
}
