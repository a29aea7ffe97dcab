namespace Doppel.Session.Incoming;

/// <summary>
/// Says a warning or error line once per <see cref="Quiet"/>: the same line again within that time
/// goes to the log only. An agent that refuses a subscription is asked again every few hundred
/// milliseconds, and with several replicas the terminal filled with the same sentence twice a
/// second per replica. Lines are compared whole unless a key is given. Thread-safe.
/// </summary>
internal sealed class QuietRepeats(TimeProvider time, Action<string> repeated)
{
    /// <summary>How long the same line stays unsaid after it was said.</summary>
    public static readonly TimeSpan Quiet = TimeSpan.FromSeconds(30);

    private readonly Dictionary<string, long> _said = new(StringComparer.Ordinal);

    /// <summary>Passes <paramref name="line"/> to <paramref name="say"/>, or to the log when it was said less than <see cref="Quiet"/> ago.</summary>
    public void Say(string line, Action<string> say) => Say(line, line, say);

    /// <summary>
    /// Passes <paramref name="line"/> to <paramref name="say"/>, or to the log when a line with the same
    /// <paramref name="key"/> was said less than <see cref="Quiet"/> ago: a notice every replica's agent
    /// sends (a colliding filter, an older agent) is keyed without the replica's name, so it is said
    /// once, with the name of the replica that sent it first.
    /// </summary>
    public void Say(string key, string line, Action<string> say)
    {
        var now = time.GetTimestamp();
        lock (_said)
        {
            if (_said.TryGetValue(key, out var at) && time.GetElapsedTime(at, now) < Quiet)
            {
                repeated(line);
                return;
            }

            if (_said.Count > 256)
            {
                _said.Clear(); // lines with changing details: keep the table small
            }

            _said[key] = now;
        }

        say(line);
    }
}
