namespace Doppel.Cli.Tests.Support;

internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("doppel-cli-").FullName;

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
