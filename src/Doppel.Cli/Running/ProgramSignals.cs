using System.Diagnostics;
using System.Runtime.InteropServices;
using Doppel.Interception;
using Doppel.Linux.Processes;
using Microsoft.Extensions.Logging;

namespace Doppel.Cli.Running;

/// <summary>
/// What SIGINT, SIGTERM, SIGHUP and SIGQUIT do to <c>doppel exec</c> (docs/cli.md, "Ctrl+C and
/// signals"). They never end doppel's session by themselves: before the program runs they cancel
/// the start (exit 130); while it runs they reach the program exactly once and doppel keeps serving
/// it until it exits, then passes its exit code through.
/// <list type="bullet">
/// <item>A terminal sends SIGINT (Ctrl+C), SIGQUIT (Ctrl+\) and, on hang-up, SIGHUP to its whole
/// foreground process group, the program included: those are not sent a second time. A signal that
/// came from <c>kill</c> is forwarded. .NET's handlers get no siginfo, so the rule is: SIGINT and
/// SIGQUIT are forwarded unless doppel is in its terminal's foreground group and the program in
/// doppel's group; SIGHUP unless doppel had a controlling terminal when it started (a hang-up
/// detaches the terminal before the signal arrives) and the program is in doppel's group.</item>
/// <item>SIGTERM (never sent by a terminal) is always forwarded; a program still running
/// <see cref="TermGrace"/> later is killed with its process tree, like <c>docker stop</c>.</item>
/// <item>A second SIGINT within <see cref="AgainWindow"/> of the first kills the program's process
/// tree now and doppel exits 130, like a second Ctrl+C to <c>docker compose up</c>.</item>
/// </list>
/// </summary>
internal sealed class ProgramSignals : IDisposable
{
    /// <summary>A second Ctrl+C within this time of the first stops the program at once.</summary>
    public static readonly TimeSpan AgainWindow = TimeSpan.FromSeconds(2);

    /// <summary>How long a program may take to exit after SIGTERM before it is killed (docker stop's default).</summary>
    public static readonly TimeSpan TermGrace = TimeSpan.FromSeconds(10);

    // A program that exits this soon after Ctrl+C needs no "waiting for it" line.
    private static readonly TimeSpan s_noticeDelay = TimeSpan.FromMilliseconds(300);

    private const int SigHup = 1;
    private const int SigInt = 2;
    private const int SigQuit = 3;
    private const int SigTerm = 15;

    private readonly IUserConsole _console;
    private readonly ILogger _logger;
    private readonly bool _startedOnTerminal;
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _interrupted = new();
    private readonly CancellationTokenSource _exited = new();
    private readonly List<PosixSignalRegistration> _registrations = [];
    private readonly List<int> _pending = [];
    private InterceptedProcess? _program;
    private string _name = string.Empty;
    private long _lastInterrupt;
    private bool _termSent;
    private bool _forced;

    private ProgramSignals(IUserConsole console, ILogger logger)
    {
        _console = console;
        _logger = logger;
        _startedOnTerminal = ProcessStatus.TryRead(Environment.ProcessId) is { Terminal: not 0 };
    }

    /// <summary>Cancelled by the first signal that arrives before the program runs: doppel then stops starting it.</summary>
    public CancellationToken Interrupted => _interrupted.Token;

    /// <summary>Takes over SIGINT, SIGTERM, SIGHUP and SIGQUIT for this process until disposed.</summary>
    public static ProgramSignals Register(IUserConsole console, ILogger logger)
    {
        var signals = new ProgramSignals(console, logger);
        foreach (var (signal, number) in new[] { (PosixSignal.SIGINT, SigInt), (PosixSignal.SIGTERM, SigTerm), (PosixSignal.SIGHUP, SigHup), (PosixSignal.SIGQUIT, SigQuit) })
        {
            signals._registrations.Add(PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true; // doppel ends when the program does, with its exit code
                signals.Received(number);
            }));
        }

        return signals;
    }

    /// <summary>
    /// Hands the signals to <paramref name="program"/> until it exits, and returns its exit code
    /// (128+N when signal N killed it), or 130 when a second Ctrl+C stopped it.
    /// </summary>
    public async Task<int> SuperviseAsync(InterceptedProcess program, string name)
    {
        ArgumentNullException.ThrowIfNull(program);
        lock (_lock)
        {
            _program = program;
            _name = name;

            // Signals that came while the program was being started (after the last point that
            // could give up on starting it) are handled as if they came now.
            foreach (var signal in _pending)
            {
                OnSignal(signal);
            }

            _pending.Clear();
        }

        var code = await program.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        lock (_lock)
        {
            _exited.Cancel();
            return _forced ? ExitCodes.Interrupted : code;
        }
    }

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }

        lock (_lock)
        {
            _exited.Cancel();
        }

        _interrupted.Dispose();
        _exited.Dispose();
    }

    private void Received(int signal)
    {
        lock (_lock)
        {
            if (_exited.IsCancellationRequested)
            {
                return;
            }

            if (_program is null)
            {
                _logger.LogDebug("signal {Signal} before the program runs: not starting it", signal);
                _pending.Add(signal);
                _interrupted.Cancel();
                return;
            }

            OnSignal(signal);
        }
    }

    // Under _lock, with the program running.
    private void OnSignal(int signal)
    {
        var program = _program!;
        switch (signal)
        {
            case SigInt:
                var now = Stopwatch.GetTimestamp();
                if (_lastInterrupt != 0 && Stopwatch.GetElapsedTime(_lastInterrupt, now) <= AgainWindow)
                {
                    Force(program);
                    return;
                }

                _lastInterrupt = now;
                var typed = ProgramGotTerminalKey(program);
                DeliverUnlessTheTerminalDid(program, signal, typed);
                if (typed)
                {
                    _ = NoticeAsync(program, now); // a person at the terminal may wonder why doppel still runs
                }

                break;

            case SigQuit:
                DeliverUnlessTheTerminalDid(program, signal, ProgramGotTerminalKey(program));
                break;

            case SigHup:
                DeliverUnlessTheTerminalDid(program, signal, _startedOnTerminal && InDoppelsGroup(program));
                break;

            case SigTerm:
                Deliver(program, signal);
                if (!_termSent)
                {
                    _termSent = true;
                    _ = EscalateAsync(program);
                }

                break;
        }
    }

    private void DeliverUnlessTheTerminalDid(InterceptedProcess program, int signal, bool terminalDelivered)
    {
        if (terminalDelivered)
        {
            _logger.LogDebug("signal {Signal} came from the terminal: the program (pid {Pid}) got it too", signal, program.ProcessId);
            return;
        }

        Deliver(program, signal);
    }

    private void Deliver(InterceptedProcess program, int signal)
    {
        _logger.LogDebug("forwarding signal {Signal} to the program (pid {Pid})", signal, program.ProcessId);
        program.Signal(signal);
    }

    /// <summary>A Ctrl+C or Ctrl+\ on doppel's terminal went to its foreground group: was the program in it?</summary>
    private static bool ProgramGotTerminalKey(InterceptedProcess program) =>
        ProcessStatus.TryRead(Environment.ProcessId) is { IsInTerminalForeground: true } && InDoppelsGroup(program);

    private static bool InDoppelsGroup(InterceptedProcess program) =>
        ProcessStatus.TryRead(Environment.ProcessId) is { } self && ProcessStatus.TryRead(program.ProcessId) is { } status && status.ProcessGroup == self.ProcessGroup;

    private void Force(InterceptedProcess program)
    {
        _forced = true;
        var killed = program.KillProcessTree();
        Say($"stopped '{_name}' (pid {program.ProcessId}) and its child processes: {killed} killed with SIGKILL.");
    }

    /// <summary>Says why doppel still runs after Ctrl+C, unless the program exits promptly or Ctrl+C came again.</summary>
    private async Task NoticeAsync(InterceptedProcess program, long interrupt)
    {
        try
        {
            await Task.Delay(s_noticeDelay, _exited.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        lock (_lock)
        {
            if (!_exited.IsCancellationRequested && !_forced && _lastInterrupt == interrupt && !program.HasExited)
            {
                Say($"waiting for '{_name}' (pid {program.ProcessId}) to exit; press Ctrl+C again within {AgainWindow.TotalSeconds:0} s to stop it now.");
            }
        }
    }

    /// <summary>docker stop's rule: a program still running <see cref="TermGrace"/> after SIGTERM is killed.</summary>
    private async Task EscalateAsync(InterceptedProcess program)
    {
        try
        {
            await Task.Delay(TermGrace, _exited.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        lock (_lock)
        {
            if (_exited.IsCancellationRequested || _forced || program.HasExited)
            {
                return;
            }

            var killed = program.KillProcessTree();
            Say($"'{_name}' (pid {program.ProcessId}) did not exit within {TermGrace.TotalSeconds:0} s of SIGTERM: {killed} processes killed with SIGKILL.");
        }
    }

    private void Say(string message)
    {
        try
        {
            _console.WriteInfo("doppel: " + message);
        }
        catch (IOException)
        {
            // The terminal is gone (hang-up): nobody to tell.
        }
    }
}
