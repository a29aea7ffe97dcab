using System.Diagnostics;
using System.Text;
using System.Threading.Channels;

namespace Doppel.Testing;

/// <summary>What a <see cref="DoppelExecProcess"/> ended with: byte-exact output and the time it took.</summary>
public sealed record DoppelExecResult(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed)
{
    public override string ToString() => $"exit code {ExitCode} after {Elapsed.TotalSeconds:0.0} s\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>
/// One <c>doppel exec ARGS</c> started in a developer namespace (<c>ip netns exec DEV doppel exec
/// ...</c>; ip execs doppel, so <see cref="Pid"/> is doppel's and the agent, launcher and program
/// are its children), used by the end-to-end tests and the benchmarks. Proxy variables are
/// removed (the developer namespace cannot reach a proxy); stdout is kept byte-exact and also
/// handed out line by line. Disposing kills doppel and what it started, by PID.
/// </summary>
public sealed class DoppelExecProcess : IAsyncDisposable
{
    private static readonly string[] s_proxyVariables =
        ["http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"];

    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly Task _pumps;

    private DoppelExecProcess(Process process)
    {
        _process = process;
        _pumps = Task.WhenAll(PumpAsync(process.StandardOutput, _stdout, _lines.Writer), PumpAsync(process.StandardError, _stderr, lines: null));
    }

    public int Pid => _process.Id;

    /// <summary>
    /// Starts <c>ip netns exec <paramref name="developerNamespace"/> <paramref name="doppel"/> exec <paramref name="execArguments"/></c>.
    /// A null value in <paramref name="environment"/> removes that variable. The program's stdin
    /// stays open for <see cref="WriteLineAsync"/> when <paramref name="keepStdinOpen"/>.
    /// <paramref name="subcommand"/> runs another of doppel's commands the same way (<c>port-forward</c>).
    /// </summary>
    public static DoppelExecProcess Start(
        string doppel,
        string developerNamespace,
        IReadOnlyList<string> execArguments,
        string workingDirectory,
        IReadOnlyDictionary<string, string?>? environment = null,
        bool keepStdinOpen = false,
        string subcommand = "exec")
    {
        ArgumentNullException.ThrowIfNull(execArguments);
        var info = new ProcessStartInfo("ip")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in (string[])["netns", "exec", developerNamespace, doppel, subcommand, .. execArguments])
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var name in s_proxyVariables)
        {
            info.Environment.Remove(name);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                info.Environment.Remove(name);
            }
            else
            {
                info.Environment[name] = value;
            }
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("ip netns exec could not be started.");
        if (!keepStdinOpen)
        {
            process.StandardInput.Close();
        }

        return new DoppelExecProcess(process);
    }

    /// <summary>The next line the program wrote on stdout, or null at the end of its output.</summary>
    public async Task<string?> ReadLineAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cancel.CancelAfter(timeout);
        try
        {
            return await _lines.Reader.ReadAsync(cancel.Token).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            return null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"doppel exec's program wrote no line within {timeout.TotalSeconds:0} s; so far: {Snapshot()}");
        }
    }

    /// <summary>What doppel wrote so far (exit code -1 while it runs), for a failing test's message.</summary>
    public DoppelExecResult SoFar => Snapshot();

    /// <summary>Writes a line to the program's stdin (see <see cref="Start"/>'s keepStdinOpen).</summary>
    public Task WriteLineAsync(string line) => _process.StandardInput.WriteLineAsync(line);

    /// <summary>Waits for doppel's exit; after <paramref name="timeout"/> kills doppel and what it started, and throws.</summary>
    public async Task<DoppelExecResult> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cancel.CancelAfter(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Kill();
            throw new TimeoutException($"doppel exec did not finish within {timeout.TotalSeconds:0} s; so far: {Snapshot()}");
        }

        await _pumps.ConfigureAwait(false);
        return Snapshot();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Kill();
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }

        _process.Dispose();
    }

    private DoppelExecResult Snapshot()
    {
        lock (_stdout)
        {
            lock (_stderr)
            {
                return new DoppelExecResult(_process.HasExited ? _process.ExitCode : -1, _stdout.ToString(), _stderr.ToString(), _clock.Elapsed);
            }
        }
    }

    // doppel, its launcher, the program and the agent: all started here (by PID, never by name).
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

    // Keeps the output byte-exact (a missing final newline shows) and hands out complete lines.
    private static async Task PumpAsync(StreamReader reader, StringBuilder text, ChannelWriter<string>? lines)
    {
        var buffer = new char[4096];
        var line = new StringBuilder();
        int read;
        while ((read = await reader.ReadAsync(buffer).ConfigureAwait(false)) > 0)
        {
            lock (text)
            {
                text.Append(buffer, 0, read);
            }

            foreach (var c in buffer.AsSpan(0, read))
            {
                if (c == '\n')
                {
                    lines?.TryWrite(line.ToString());
                    line.Clear();
                }
                else
                {
                    line.Append(c);
                }
            }
        }

        lines?.TryComplete();
    }
}
