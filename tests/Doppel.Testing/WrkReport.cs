using System.Globalization;
using System.Text.RegularExpressions;

namespace Doppel.Testing;

/// <summary>
/// What one <c>wrk</c> run printed (wrk 4.x text output, with or without <c>--latency</c>), for the
/// end-to-end tests (failures under load) and the benchmarks (rate and latency):
/// <code>
///   1234 requests in 6.00s, 200.00KB read
///   Socket errors: connect 0, read 3, write 0, timeout 0     (only when there were any)
///   Non-2xx or 3xx responses: 5                              (only when there were any)
///   Latency Distribution  50%  1.23ms ... 99%  4.56ms        (with --latency)
/// Requests/sec:   205.63
/// </code>
/// </summary>
/// <param name="Requests">Completed requests (answered, whatever the status).</param>
/// <param name="RequestsPerSecond">wrk's "Requests/sec".</param>
/// <param name="SocketErrors">connect + read + write + timeout errors.</param>
/// <param name="NonSuccess">Answers with a status outside 2xx and 3xx.</param>
/// <param name="LatencyPercentiles">Percentile (50, 75, 90, 99) → latency, from <c>--latency</c>; empty without it.</param>
/// <param name="Output">wrk's whole output, for messages.</param>
public sealed partial record WrkReport(long Requests, double RequestsPerSecond, long SocketErrors, long NonSuccess, IReadOnlyDictionary<int, TimeSpan> LatencyPercentiles, string Output)
{
    /// <summary>Requests that failed: socket errors and non-2xx/3xx answers.</summary>
    public long Failures => SocketErrors + NonSuccess;

    /// <summary>Reads wrk's output; throws <see cref="FormatException"/> (with the output) when it has no request count.</summary>
    public static WrkReport Parse(string output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var requests = RequestsLine().Match(output);
        var rate = RateLine().Match(output);
        if (!requests.Success || !rate.Success)
        {
            throw new FormatException($"wrk printed no request count or rate: {output}");
        }

        var errors = ErrorsLine().Match(output);
        var socketErrors = errors.Success
            ? Enumerable.Range(1, 4).Sum(g => long.Parse(errors.Groups[g].Value, CultureInfo.InvariantCulture))
            : 0;
        var nonSuccess = NonSuccessLine().Match(output);
        var percentiles = new Dictionary<int, TimeSpan>();
        foreach (Match line in PercentileLine().Matches(output))
        {
            percentiles[int.Parse(line.Groups[1].Value, CultureInfo.InvariantCulture)] = Duration(line.Groups[2].Value, line.Groups[3].Value);
        }

        return new WrkReport(
            long.Parse(requests.Groups[1].Value, CultureInfo.InvariantCulture),
            double.Parse(rate.Groups[1].Value, CultureInfo.InvariantCulture),
            socketErrors,
            nonSuccess.Success ? long.Parse(nonSuccess.Groups[1].Value, CultureInfo.InvariantCulture) : 0,
            percentiles,
            output);
    }

    private static TimeSpan Duration(string number, string unit)
    {
        var value = double.Parse(number, CultureInfo.InvariantCulture);
        return unit switch
        {
            "us" => TimeSpan.FromMicroseconds(value),
            "ms" => TimeSpan.FromMilliseconds(value),
            "s" => TimeSpan.FromSeconds(value),
            "m" => TimeSpan.FromMinutes(value),
            _ => throw new FormatException($"wrk latency unit '{unit}' is unknown."),
        };
    }

    [GeneratedRegex(@"^\s*(\d+) requests in ", RegexOptions.Multiline)]
    private static partial Regex RequestsLine();

    [GeneratedRegex(@"^Requests/sec:\s+([\d.]+)", RegexOptions.Multiline)]
    private static partial Regex RateLine();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex ErrorsLine();

    [GeneratedRegex(@"Non-2xx or 3xx responses: (\d+)")]
    private static partial Regex NonSuccessLine();

    [GeneratedRegex(@"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", RegexOptions.Multiline)]
    private static partial Regex PercentileLine();
}
