namespace Doppel.Config;

/// <summary>One entry of <c>all_of</c>/<c>any_of</c>: exactly one of header, path or method.</summary>
public sealed record HttpFilterRule
{
    public string? Header { get; init; }

    public string? Path { get; init; }

    public string? Method { get; init; }
}
