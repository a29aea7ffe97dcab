namespace Doppel.Interception.Supervision;

/// <summary>Counters of the supervisor, for diagnostics and tests.</summary>
internal sealed class InterceptionStatistics
{
    private long _notifications;
    private long _continued;
    private long _answered;
    private long _skippedProcess;
    private long _failedResponses;

    public long Notifications => Interlocked.Read(ref _notifications);

    public long Continued => Interlocked.Read(ref _continued);

    public long Answered => Interlocked.Read(ref _answered);

    public long SkippedProcess => Interlocked.Read(ref _skippedProcess);

    public long FailedResponses => Interlocked.Read(ref _failedResponses);

    internal void CountNotification() => Interlocked.Increment(ref _notifications);

    internal void CountContinued() => Interlocked.Increment(ref _continued);

    internal void CountAnswered() => Interlocked.Increment(ref _answered);

    internal void CountSkipped() => Interlocked.Increment(ref _skippedProcess);

    internal void CountFailedResponse() => Interlocked.Increment(ref _failedResponses);
}
