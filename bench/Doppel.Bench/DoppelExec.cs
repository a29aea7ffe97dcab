using System.Diagnostics;
using System.Text;
using System.Threading.Channels;

namespace Doppel.Bench;

/// <summary>
/// One <c>ip netns exec DEV doppel exec -t pid/N -- PROGRAM ARGS</c> (ip execs doppel, so
/// <see cref="Pid"/> is doppel's; the agent, launcher and program are its children). Proxy
/// variables are removed (the developer namespace cannot reach a proxy); stdin stays open so
/// the program can be told when to go on.
/// </summary>
internal sealed class DoppelExec : IAsyncDisposable
{
    private static readonly string[] s_proxyVariables =
        ["http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"];

    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly Task _pumps;
    private readonly string _description;

    private DoppelExec(Process process, string description)
    {
        _process = process;
        _description = description;
        _pumps = Task.WhenAll(PumpAsync(process.StandardOutput, _stdout, _lines.Writer), PumpAsync(process.StandardError, _stderr, null));
    }

    public int Pid => _process.Id;

    public static DoppelExec Start(string developerNamespace, Launcher doppel, int targetPid, IReadOnlyList<string> command, string workingDirectory)
    {
        var info = new ProcessStartInfo("ip")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in (string[])["netns", "exec", developerNamespace, doppel.Path, "exec", "-t", $"pid/{targetPid}", "--", .. command])
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var name in s_proxyVariables)
        {
            info.Environment.Remove(name);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("ip netns exec could not be started.");
        return new DoppelExec(process, $"doppel exec -t pid/{targetPid} -- {string.Join(' ', command.Skip(1).Prepend(Path.GetFileName(command[0])))}");
    }

    /// <summary>Runs to the end; returns stdout. Throws when it fails or takes longer than <paramref name="timeout"/> (then kills it).</summary>
    public static async Task<string> RunAsync(
        string developerNamespace, Launcher doppel, int targetPid, IReadOnlyList<string> command, string workingDirectory, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await using var exec = Start(developerNamespace, doppel, targetPid, command, workingDirectory);
        exec._process.StandardInput.Close();
        return await exec.WaitAsync(timeout, cancellationToken);
    }

    /// <summary>The next line the program wrote, within <paramref name="timeout"/>.</summary>
    public async Task<string> ReadLineAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cancel.CancelAfter(timeout);
        try
        {
            return await _lines.Reader.ReadAsync(cancel.Token);
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException($"{_description} ended its output early: {Snapshot()}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{_description} wrote no line within {timeout.TotalSeconds:0} s: {Snapshot()}");
        }
    }

    public Task WriteLineAsync(string line) => _process.StandardInput.WriteLineAsync(line);

    public async Task<string> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cancel.CancelAfter(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Kill();
            throw new TimeoutException($"{_description} did not finish within {timeout.TotalSeconds:0} s: {Snapshot()}");
        }

        await _pumps;
        if (_process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{_description} exited with {_process.ExitCode}: {Snapshot()}");
        }

        lock (_stdout)
        {
            return _stdout.ToString();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private string Snapshot()
    {
        lock (_stdout)
        {
            lock (_stderr)
            {
                return $"stdout: {_stdout.ToString().Trim()} | stderr: {_stderr.ToString().Trim()}";
            }
        }
    }

    // doppel and what it started (agent, launcher, program): all ours, found from doppel's PID.
    private void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    private static async Task PumpAsync(StreamReader reader, StringBuilder text, ChannelWriter<string>? lines)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (text)
            {
                text.AppendLine(line);
            }

            lines?.TryWrite(line);
        }

        lines?.TryComplete();
    }
}
