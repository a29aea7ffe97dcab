using System.Diagnostics;

namespace Doppel.Interception.Tests.Support;

/// <summary>
/// A named pipe in a temporary directory, for a program to wait on an event of the test:
/// the program's <c>read line &lt; FIFO</c> blocks until the test writes. Opening the write end
/// completes once the program has opened the read end, so the test knows the program got there.
/// </summary>
internal sealed class Fifo : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("doppel-fifo-").FullName;

    public Fifo()
    {
        Path = System.IO.Path.Combine(_directory, "fifo");
        using var mkfifo = Process.Start("mkfifo", ["-m", "600", Path]);
        mkfifo.WaitForExit();
        if (mkfifo.ExitCode != 0)
        {
            throw new IOException($"mkfifo {Path} exited with {mkfifo.ExitCode}.");
        }
    }

    public string Path { get; }

    /// <summary>The write end, once a reader has opened the fifo; fails after <paramref name="timeout"/> with none.</summary>
    public Task<FileStream> OpenWriterAsync(TimeSpan timeout) =>
        Task.Run(() => new FileStream(Path, FileMode.Open, FileAccess.Write)).WaitAsync(timeout);

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
