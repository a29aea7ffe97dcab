namespace Doppel.Config;

public sealed record ResourceAmounts
{
    public string? Cpu { get; init; }

    public string? Memory { get; init; }
}
