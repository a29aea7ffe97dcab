using System.Diagnostics;

namespace Doppel.Testing;

/// <summary>A build tool (go, dotnet, gcc, …) run for a test, its output kept for the failure message.</summary>
public static class BuildCommand
{
    /// <summary>
    /// Runs <paramref name="program"/> with <paramref name="args"/> in <paramref name="directory"/>,
    /// with <paramref name="environment"/> added to doppel's own; throws with its output when it
    /// exits non-zero. A cancelled run is killed with its process tree.
    /// </summary>
    public static async Task RunAsync(string program, IReadOnlyList<string> args, string directory, IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(program)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{program} could not be started.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed ({process.ExitCode}): {await stdout.ConfigureAwait(false)}{await stderr.ConfigureAwait(false)}");
        }
    }
}
