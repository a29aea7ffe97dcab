using System.Diagnostics;

namespace Doppel.Kubernetes.Tests.Support;

/// <summary>Runs a host program to its end.</summary>
internal static class Run
{
    /// <summary>Runs COMMAND and returns its stdout; throws with its stderr when it exits non-zero.</summary>
    public static async Task<string> CheckedAsync(IReadOnlyList<string> command, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in command.Skip(1))
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{command[0]} could not be started.");
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw;
        }

        return process.ExitCode == 0
            ? await stdout
            : throw new InvalidOperationException($"`{string.Join(' ', command)}` failed with exit code {process.ExitCode}: {(await stderr).Trim()}");
    }
}
