namespace Doppel.Agent.Incoming;

/// <summary>
/// Why filters said "no match" for reasons other than the request itself: counted per
/// subscription (one instance each) so the agent can report them to that session. Thread-safe;
/// the counts only grow.
/// </summary>
internal sealed class FilterCounters
{
    private long _regexTimeouts;
    private long _bodiesTooLarge;
    private long _bodiesTimedOut;
    private long _bodiesNotJson;

    /// <summary>Regex evaluations that ran past the match time-out (and counted as no match).</summary>
    public long RegexTimeouts => Interlocked.Read(ref _regexTimeouts);

    /// <summary>Body filter evaluations on a body over the size limit.</summary>
    public long BodiesTooLarge => Interlocked.Read(ref _bodiesTooLarge);

    /// <summary>Body filter evaluations on a body that did not arrive within the time limit.</summary>
    public long BodiesTimedOut => Interlocked.Read(ref _bodiesTimedOut);

    /// <summary>Body filter evaluations on a complete body that is not JSON (empty bodies included).</summary>
    public long BodiesNotJson => Interlocked.Read(ref _bodiesNotJson);

    internal void RegexTimedOut() => Interlocked.Increment(ref _regexTimeouts);

    internal void BodyUnusable(BodyBufferOutcome outcome)
    {
        if (outcome == BodyBufferOutcome.TooLarge)
        {
            Interlocked.Increment(ref _bodiesTooLarge);
        }
        else if (outcome == BodyBufferOutcome.TimedOut)
        {
            Interlocked.Increment(ref _bodiesTimedOut);
        }
    }

    internal void BodyNotJson() => Interlocked.Increment(ref _bodiesNotJson);
}
