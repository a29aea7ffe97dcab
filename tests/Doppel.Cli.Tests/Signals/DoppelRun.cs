using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Doppel.Cli.Tests.Signals;

/// <summary>
/// One <c>doppel ARGS</c> run, either on a real pseudo-terminal (pty-driver.py: doppel leads the
/// terminal's session and its group is the foreground group, as under a shell in a terminal, so a
/// typed Ctrl+C goes to doppel and the program alike) or with plain pipes and no terminal.
/// Disposing kills what is left of doppel's process tree and the processes the test named, by PID.
/// </summary>
internal sealed class DoppelRun : IAsyncDisposable
{
    private static readonly string s_driver = Path.Combine(AppContext.BaseDirectory, "Signals", "pty-driver.py");

    private readonly Process _process;
    private readonly bool _onTerminal;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<int> _doppelPid = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<int> _exitCode = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<int> _alsoKill = [];
    private readonly Task _pumps;

    private DoppelRun(Process process, bool onTerminal)
    {
        _process = process;
        _onTerminal = onTerminal;
        if (!onTerminal)
        {
            _doppelPid.SetResult(process.Id);
        }

        _pumps = Task.WhenAll(PumpAsync(process.StandardOutput, _output), PumpAsync(process.StandardError, onTerminal ? null : _output, onTerminal));
    }

    /// <summary>Everything doppel and the program wrote so far (on a terminal: with its \r\n and escape codes).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts <c>doppel ARGS</c> on a new pseudo-terminal.</summary>
    public static DoppelRun OnTerminal(string doppel, IReadOnlyDictionary<string, string> environment, params string[] args)
        => new(Start("python3", [s_driver, doppel, .. args], environment), onTerminal: true);

    /// <summary>Starts <c>doppel ARGS</c> with stdin, stdout and stderr on pipes (no controlling terminal of its own).</summary>
    public static DoppelRun WithoutTerminal(string doppel, IReadOnlyDictionary<string, string> environment, params string[] args)
        => new(Start("setsid", [doppel, .. args], environment), onTerminal: false);

    /// <summary>doppel's pid.</summary>
    public Task<int> DoppelPidAsync() => _doppelPid.Task.WaitAsync(TimeSpan.FromSeconds(30));

    /// <summary>Kills <paramref name="pid"/> (started by the test's program) too when the test ends, if it still runs.</summary>
    public void AlsoKillAtTheEnd(int pid)
    {
        lock (_alsoKill)
        {
            _alsoKill.Add(pid);
        }
    }

    /// <summary>Types Ctrl+C on the terminal.</summary>
    public async Task PressCtrlCAsync()
    {
        Assert.True(_onTerminal, "Ctrl+C needs a terminal: start with OnTerminal.");
        await _process.StandardInput.WriteLineAsync("intr");
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>Hangs the terminal up (closes its master side); nothing doppel writes after that is seen.</summary>
    public async Task HangUpAsync()
    {
        Assert.True(_onTerminal, "A hang-up needs a terminal: start with OnTerminal.");
        await _process.StandardInput.WriteLineAsync("hangup");
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>Waits until the output contains <paramref name="text"/>; returns the output from there on.</summary>
    public Task<string> WaitForAsync(string text, TimeSpan timeout) => WaitForAsync(new Regex(Regex.Escape(text)), timeout);

    /// <summary>Waits until <paramref name="pattern"/> matches the output; returns the output from the match on.</summary>
    public async Task<string> WaitForAsync(Regex pattern, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var output = Output;
            if (pattern.Match(output) is { Success: true } match)
            {
                return output[match.Index..];
            }

            if (clock.Elapsed > timeout || _exitCode.Task.IsCompleted || (!_onTerminal && _process.HasExited))
            {
                throw new TimeoutException($"'{pattern}' did not appear within {timeout.TotalSeconds:0} s; output so far:\n{output}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>doppel's exit code (128+N when signal N killed it).</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            var code = _onTerminal ? await _exitCode.Task.WaitAsync(timeout) : await WaitForPipesAsync(timeout);
            await _pumps.WaitAsync(timeout);
            return code;
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"doppel did not exit within {timeout.TotalSeconds:0} s; output so far:\n{Output}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_doppelPid.Task.IsCompletedSuccessfully)
        {
            // doppel leads the session it was started in (pty.fork and setsid both make one):
            // whatever still runs in it was started by this test, also if doppel died first.
            var doppel = _doppelPid.Task.Result;
            KillTree(doppel);
            foreach (var pid in InSession(doppel))
            {
                KillTree(pid);
            }
        }

        lock (_alsoKill)
        {
            foreach (var pid in _alsoKill)
            {
                KillTree(pid);
            }
        }

        KillTree(_process.Id);
        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    /// <summary>True while <paramref name="pid"/> is a process that has not exited (a zombie has).</summary>
    public static bool IsRunning(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Waits (generously) until <paramref name="pid"/> has exited; false if it still runs.</summary>
    public static async Task<bool> HasExitedAsync(int pid)
    {
        for (var clock = Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(15); await Task.Delay(50))
        {
            if (!IsRunning(pid))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The session id of <paramref name="pid"/> (field 6 of /proc/PID/stat).</summary>
    public static int SessionOf(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[3], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static IEnumerable<int> InSession(int session)
    {
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            int pid;
            try
            {
                if (!int.TryParse(Path.GetFileName(directory), out pid) || SessionOf(pid) != session)
                {
                    continue;
                }
            }
            catch (IOException)
            {
                continue;
            }

            yield return pid;
        }
    }

    /// <summary>The children of <paramref name="pid"/> whose command name is <paramref name="name"/>.</summary>
    public static IReadOnlyList<int> ChildrenNamed(int pid, string name)
    {
        var found = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                if (int.TryParse(Path.GetFileName(directory), out var child)
                    && File.ReadAllText(Path.Combine(directory, "stat")) is var stat
                    && stat[(stat.IndexOf('(') + 1)..stat.LastIndexOf(')')] == name
                    && stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1] == pid.ToString(System.Globalization.CultureInfo.InvariantCulture))
                {
                    found.Add(child);
                }
            }
            catch (IOException)
            {
            }
        }

        return found;
    }

    private static Process Start(string program, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> environment)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in args)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"{program} did not start.");
    }

    private static void KillTree(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }
    }

    private async Task<int> WaitForPipesAsync(TimeSpan timeout)
    {
        await _process.WaitForExitAsync().WaitAsync(timeout);
        return _process.ExitCode;
    }

    private async Task PumpAsync(StreamReader reader, StringBuilder? text, bool driverProtocol = false)
    {
        if (driverProtocol)
        {
            // pty-driver.py's own lines: "pid N", then "exit N".
            while (await reader.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("pid ", StringComparison.Ordinal))
                {
                    _doppelPid.TrySetResult(int.Parse(line[4..], System.Globalization.CultureInfo.InvariantCulture));
                }
                else if (line.StartsWith("exit ", StringComparison.Ordinal))
                {
                    _exitCode.TrySetResult(int.Parse(line[5..], System.Globalization.CultureInfo.InvariantCulture));
                }
            }

            _doppelPid.TrySetException(new InvalidOperationException("pty-driver.py did not start doppel."));
            _exitCode.TrySetException(new InvalidOperationException("pty-driver.py ended without doppel's exit code."));
            return;
        }

        var buffer = new char[4096];
        int read;
        while ((read = await reader.ReadAsync(buffer)) > 0)
        {
            lock (_output)
            {
                text!.Append(buffer, 0, read);
            }
        }
    }
}
