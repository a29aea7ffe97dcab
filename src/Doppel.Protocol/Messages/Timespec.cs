namespace Doppel.Protocol.V1;

/// <summary>Conversions between the wire's <c>Timespec</c> (struct timespec) and <see cref="DateTimeOffset"/>.</summary>
public sealed partial class Timespec
{
    private const long NanosecondsPerTick = 100;

    /// <summary>The wire form of <paramref name="time"/> (100 ns precision, as .NET keeps it).</summary>
    public static Timespec FromDateTimeOffset(DateTimeOffset time)
    {
        var ticks = time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out var remainder);
        if (remainder < 0)
        {
            seconds--;
            remainder += TimeSpan.TicksPerSecond;
        }

        return new Timespec { Seconds = seconds, Nanoseconds = (uint)(remainder * NanosecondsPerTick) };
    }

    /// <summary>This time in UTC, truncated to 100 ns and clamped to <see cref="DateTimeOffset"/>'s range.</summary>
    public DateTimeOffset ToDateTimeOffset()
    {
        const long minSeconds = -62_135_596_800; // 0001-01-01
        const long maxSeconds = 253_402_300_799; // 9999-12-31T23:59:59
        if (Seconds < minSeconds)
        {
            return DateTimeOffset.MinValue;
        }

        if (Seconds > maxSeconds)
        {
            return DateTimeOffset.MaxValue;
        }

        var nanoseconds = Math.Min(Nanoseconds, 999_999_999u);
        return DateTimeOffset.UnixEpoch.AddTicks((Seconds * TimeSpan.TicksPerSecond) + (nanoseconds / NanosecondsPerTick));
    }
}
