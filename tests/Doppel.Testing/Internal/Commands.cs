using System.Diagnostics;

namespace Doppel.Testing.Internal;

/// <summary>Runs a program to completion, capturing its output; on cancellation it kills the program it started.</summary>
internal static class Commands
{
    public static async Task<ExecResult> RunAsync(
        IReadOnlyList<string> command,
        IReadOnlyDictionary<string, string>? environment,
        CancellationToken cancellationToken)
    {
        using var process = Process.Start(StartInfo(command, environment, redirectOutput: true))
            ?? throw new MiniClusterException($"{command[0]} could not be started.");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            throw;
        }

        return new ExecResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs a harness step that must succeed.</summary>
    public static async Task<string> CheckedAsync(CancellationToken cancellationToken, params string[] command)
    {
        var result = await RunAsync(command, environment: null, cancellationToken);
        return result.EnsureSuccess($"`{string.Join(' ', command)}`").StandardOutput;
    }

    /// <summary>Starts a long-running program whose stdin is /dev/null and whose output the caller redirected.</summary>
    public static Process Start(IReadOnlyList<string> command, IReadOnlyDictionary<string, string>? environment)
        => Process.Start(StartInfo(command, environment, redirectOutput: false))
            ?? throw new MiniClusterException($"{command[0]} could not be started.");

    /// <summary>SIGKILL to a process this harness started (by its PID, never by name).</summary>
    public static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: false);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    private static ProcessStartInfo StartInfo(IReadOnlyList<string> command, IReadOnlyDictionary<string, string>? environment, bool redirectOutput)
    {
        var info = new ProcessStartInfo(command[0])
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = redirectOutput,
            RedirectStandardError = redirectOutput,
            WorkingDirectory = "/",
        };
        foreach (var argument in command.Skip(1))
        {
            info.ArgumentList.Add(argument);
        }

        if (environment is not null)
        {
            info.Environment.Clear();
            foreach (var (name, value) in environment)
            {
                info.Environment[name] = value;
            }
        }

        return info;
    }
}
