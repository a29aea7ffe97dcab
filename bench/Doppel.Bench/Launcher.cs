namespace Doppel.Bench;

/// <summary>A <c>doppel</c> executable used in its hidden launcher mode.</summary>
/// <param name="Name">How the table names it ("AOT", "JIT").</param>
internal sealed record Launcher(string Name, string Path);
