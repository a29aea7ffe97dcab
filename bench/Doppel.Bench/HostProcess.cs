using System.Diagnostics;
using System.Text;

namespace Doppel.Bench;

/// <summary>
/// A program run directly on the host (no doppel, no namespace) with stdin open, so the bench
/// can look at what it holds before telling it to go on: the direct side of figure 15. Ended
/// by its own PID (the <see cref="Process"/>) if it is still running at dispose.
/// </summary>
internal sealed class HostProcess : IRunningProgram
{
    private readonly Process _process;
    private readonly string _description;
    private readonly Task<string> _stderr;
    private readonly StringBuilder _stdout = new();

    private HostProcess(Process process, string description)
    {
        _process = process;
        _description = description;
        _stderr = process.StandardError.ReadToEndAsync();
    }

    /// <summary>The program's PID.</summary>
    public int Pid => _process.Id;

    public static HostProcess Start(IReadOnlyList<string> command)
    {
        var start = new ProcessStartInfo(command[0])
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in command.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"{command[0]} did not start.");
        return new HostProcess(process, string.Join(' ', command.Skip(1).Prepend(Path.GetFileName(command[0]))));
    }

    public async Task<string> ReadLineAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cancel.CancelAfter(timeout);
        try
        {
            var line = await _process.StandardOutput.ReadLineAsync(cancel.Token)
                ?? throw new InvalidOperationException($"{_description} ended its output early; stdout: {_stdout}");
            _stdout.AppendLine(line);
            return line;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{_description} wrote no line within {timeout.TotalSeconds:0} s; stdout so far: {_stdout}");
        }
    }

    public Task WriteLineAsync(string line) => _process.StandardInput.WriteLineAsync(line);

    public async Task<string> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cancel.CancelAfter(timeout);
        try
        {
            _stdout.Append(await _process.StandardOutput.ReadToEndAsync(cancel.Token));
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{_description} did not finish within {timeout.TotalSeconds:0} s; stdout so far: {_stdout}");
        }

        var stderr = await _stderr;
        return _process.ExitCode == 0
            ? _stdout.ToString()
            : throw new InvalidOperationException($"{_description} exited with {_process.ExitCode}: {stderr.Trim()}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
