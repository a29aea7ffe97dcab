using System.Globalization;

namespace Doppel.Bench;

/// <summary>The <c>result KEY=VALUE ...</c> line p3net prints after its timed work.</summary>
internal sealed class ResultLine
{
    private readonly Dictionary<string, double> _values;

    private ResultLine(Dictionary<string, double> values) => _values = values;

    public double this[string key] => _values.TryGetValue(key, out var value)
        ? value
        : throw new InvalidOperationException($"p3net's result line has no {key}.");

    /// <summary>Finds the result line in a program's output (doppel may print its own lines around it).</summary>
    public static ResultLine Parse(string stdout, string what)
    {
        var line = stdout.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith("result ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"{what} printed no result line; its output: {stdout.Trim()}");
        var values = line["result ".Length..]
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('=', 2))
            .ToDictionary(pair => pair[0], pair => double.Parse(pair[1], CultureInfo.InvariantCulture), StringComparer.Ordinal);
        return new ResultLine(values);
    }
}
