namespace Doppel.Config;

/// <summary>A 1-based line and column in a configuration file (the file as the user wrote it).</summary>
public readonly record struct SourcePosition(int Line, int Column)
{
    public override string ToString() => $"{Line}:{Column}";
}
