using System.Diagnostics;

namespace Doppel.Interception.Tests.Support;

/// <summary>A small C program compiled with gcc for a test (for calls no scripting language makes).</summary>
internal sealed class CProgram : IDisposable
{
    private readonly string _directory;

    private CProgram(string directory, string path)
    {
        _directory = directory;
        Path = path;
    }

    public string Path { get; }

    public static CProgram Compile(string source)
    {
        var directory = Directory.CreateTempSubdirectory("doppel-c-").FullName;
        File.WriteAllText(System.IO.Path.Combine(directory, "main.c"), source);
        var path = System.IO.Path.Combine(directory, "main");
        using var gcc = Process.Start(new ProcessStartInfo("gcc", ["-O2", "-o", path, System.IO.Path.Combine(directory, "main.c")]) { RedirectStandardError = true })!;
        var errors = gcc.StandardError.ReadToEnd();
        gcc.WaitForExit();
        if (gcc.ExitCode != 0)
        {
            Directory.Delete(directory, recursive: true);
            throw new InvalidOperationException("gcc failed: " + errors);
        }

        return new CProgram(directory, path);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
