using System.Diagnostics;
using System.Text;

namespace Doppel.EndToEnd.Tests.Support;

/// <summary>
/// One <c>doppel exec ARGS</c> started in the developer namespace
/// (<c>ip netns exec DEV doppel exec ...</c>; ip execs doppel, so the PID is doppel's), with
/// the test's environment minus proxies plus the test's variables, stdout read line by line.
/// </summary>
public sealed class DoppelProcess : IAsyncDisposable
{
    private static readonly string[] s_proxyVariables =
        ["http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"];

    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Task _stderrDone;
    private readonly System.Threading.Channels.Channel<string> _lines = System.Threading.Channels.Channel.CreateUnbounded<string>();
    private readonly Task _stdoutDone;

    private DoppelProcess(Process process)
    {
        _process = process;
        _stdoutDone = PumpAsync(process.StandardOutput, _stdout, _lines.Writer);
        _stderrDone = PumpAsync(process.StandardError, _stderr, lines: null);
    }

    public int Pid => _process.Id;

    /// <summary>Starts <c>doppel exec <paramref name="args"/></c> in <paramref name="developerNamespace"/>.</summary>
    public static DoppelProcess Start(
        string developerNamespace,
        IReadOnlyList<string> args,
        string workingDirectory,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        var info = new ProcessStartInfo("ip")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in (string[])["netns", "exec", developerNamespace, RepoPaths.Doppel, "exec", .. args])
        {
            info.ArgumentList.Add(argument);
        }

        // Proxies from the test host would send curl, python and .NET to an address the developer namespace cannot reach.
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
        process.StandardInput.Close();
        return new DoppelProcess(process);
    }

    /// <summary>Runs <c>doppel exec <paramref name="args"/></c> to its end (killing it after <paramref name="timeout"/>).</summary>
    public static async Task<DoppelResult> RunAsync(
        string developerNamespace,
        IReadOnlyList<string> args,
        string workingDirectory,
        IReadOnlyDictionary<string, string?>? environment = null,
        TimeSpan? timeout = null)
    {
        await using var doppel = Start(developerNamespace, args, workingDirectory, environment);
        return await doppel.WaitAsync(timeout ?? TimeSpan.FromSeconds(60));
    }

    /// <summary>The next line the app wrote on stdout, or null at the end of its output.</summary>
    public async Task<string?> ReadLineAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            return await _lines.Reader.ReadAsync(cancel.Token);
        }
        catch (System.Threading.Channels.ChannelClosedException)
        {
            return null;
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"doppel's app wrote no line within {timeout.TotalSeconds:0} s; so far: {Snapshot()}");
        }
    }

    /// <summary>Waits for doppel's exit; after <paramref name="timeout"/> kills doppel and what it started, and throws.</summary>
    public async Task<DoppelResult> WaitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
            throw new TimeoutException($"doppel exec did not finish within {timeout.TotalSeconds:0} s; so far: {Snapshot()}");
        }

        await Task.WhenAll(_stdoutDone, _stderrDone);
        return Snapshot();
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

    private DoppelResult Snapshot()
    {
        lock (_stdout)
        {
            lock (_stderr)
            {
                return new DoppelResult(_process.HasExited ? _process.ExitCode : -1, _stdout.ToString(), _stderr.ToString(), _clock.Elapsed);
            }
        }
    }

    // doppel, its launcher, the app and the agent: all started by this test (by PID, never by name).
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
    private static async Task PumpAsync(StreamReader reader, StringBuilder text, System.Threading.Channels.ChannelWriter<string>? lines)
    {
        var buffer = new char[4096];
        var line = new StringBuilder();
        int read;
        while ((read = await reader.ReadAsync(buffer)) > 0)
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
