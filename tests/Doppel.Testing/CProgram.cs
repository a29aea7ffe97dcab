using System.Diagnostics;

namespace Doppel.Testing;

/// <summary>
/// A small C program compiled with gcc for a test: for calls no scripting language makes, and for
/// reading the kernel ABI (sizes, offsets, constants) as the C headers define it. Dispose deletes it.
/// </summary>
public sealed class CProgram : IDisposable
{
    private readonly string _directory;

    private CProgram(string directory, string path)
    {
        _directory = directory;
        Path = path;
    }

    /// <summary>The executable's path.</summary>
    public string Path { get; }

    /// <summary>Compiles <paramref name="source"/> (one C file) with gcc -O2; throws with gcc's errors when it does not compile.</summary>
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
