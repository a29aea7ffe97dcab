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
/// detaches the terminal before the signal arrives) and the program is in doppel's group. When
/// doppel leads its session (<c>script -c</c>, <c>ssh -t</c>, <c>tmux new</c>) the kernel sends the
/// hang-up's SIGHUP to doppel alone, so doppel always sends it on (and, after a hang-up, to the
/// processes the program started in doppel's group).</item>
/// <item>SIGTERM (never sent by a terminal) is always forwarded; a program still running
/// <see cref="TermGrace"/> later is killed with its process tree, like <c>docker stop</c>.</item>
/// <item>A second SIGINT within <see cref="AgainWindow"/> of the first kills the program's process
/// tree now and doppel exits 130, like a second Ctrl+C to <c>docker compose up</c>; a line after the
/// first says so. Not when the Ctrl+C was typed on the terminal (the program got it itself) and the
/// program catches SIGINT (SigCgt in /proc/PID/status: a REPL, a server shutting down): then Ctrl+C
/// is the program's business, as under <c>kubectl exec -it</c> or <c>docker run -it</c>.</item>
/// <item>When the program exits while processes it started still run under its filter (left
/// behind: <c>server &amp;</c>, a daemon), doppel says so in one line and keeps serving them until
/// they exit, then exits with the program's code. SIGINT, SIGTERM, SIGHUP or SIGQUIT meanwhile (or
/// already while the program ran) stops them: SIGTERM to each (not to one that got the terminal's
/// Ctrl+C and handles it), SIGKILL <see cref="TermGrace"/> later or at the next Ctrl+C.</item>
/// <item>When the program (and what it left behind) has exited and written files are still to be
/// sent to the pod (the final flush), doppel says so in one line (<see cref="FinalFlushStarting"/>);
/// SIGINT or SIGTERM then stops the flush at once, and the files not sent are named as unsent.</item>
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

    // With nothing left behind, the kernel reports the filter unused a moment after the program is reaped.
    private static readonly TimeSpan s_filterRelease = TimeSpan.FromSeconds(2);

    // How many of the processes left behind the line names.
    private const int NamedLeftBehind = 3;

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
    private readonly CancellationTokenSource _skipFlush = new();
    private readonly List<PosixSignalRegistration> _registrations = [];
    private readonly List<int> _pending = [];
    private InterceptedProcess? _program;
    private string _name = string.Empty;
    private long _lastInterrupt;
    private bool _termSent;
    private bool _forced;
    private bool _stopAsked;
    private int _typedStop; // the signal of a stop typed on doppel's terminal (Ctrl+C, Ctrl+\), else 0
    private bool _waitingForLeftBehind;
    private bool _stoppingLeftBehind;
    private bool _flushing; // the final flush of written files runs: SIGINT or SIGTERM skips it

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
    /// Hands the signals to <paramref name="program"/> until it exits, then to the processes it left
    /// behind until no process is left under its filter, and returns the program's exit code (128+N
    /// when signal N killed it), or 130 when a second Ctrl+C stopped it.
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

        // The token only skips the final flush: it is cancelled only while that runs, after the exit.
        var code = await program.WaitForExitAsync(_skipFlush.Token).ConfigureAwait(false);
        lock (_lock)
        {
            _flushing = false;
        }

        IReadOnlyList<int> leftBehind;
        lock (_lock)
        {
            leftBehind = _forced || program.ProcessTreeExited.IsCompleted ? [] : program.LeftBehind();
            if (leftBehind.Count > 0)
            {
                _waitingForLeftBehind = true;
                Say(ExitedLine(code, leftBehind, stopping: _stopAsked));
                if (_stopAsked)
                {
                    StopLeftBehind(program);
                }
            }
        }

        if (leftBehind.Count > 0)
        {
            // The session (agent, relays, write-back) serves them until the last one has exited.
            await program.ProcessTreeExited.ConfigureAwait(false);
            await program.WaitForProcessTreeAsync(_skipFlush.Token).ConfigureAwait(false);
        }
        else if (!program.ProcessTreeExited.IsCompleted)
        {
            await Task.WhenAny(program.ProcessTreeExited, Task.Delay(s_filterRelease)).ConfigureAwait(false);
        }

        lock (_lock)
        {
            _exited.Cancel();
            return _forced ? ExitCodes.Interrupted : code;
        }
    }

    /// <summary>
    /// The final flush has <paramref name="files"/> written files to send: one line says so and that
    /// Ctrl+C skips it, and from now on SIGINT or SIGTERM does (the token <see cref="SuperviseAsync"/>
    /// hands the flush is cancelled).
    /// </summary>
    public void FinalFlushStarting(int files)
    {
        lock (_lock)
        {
            _flushing = true;
            Say($"sending {(files == 1 ? "1 written file" : $"{files} written files")} to the pod… press Ctrl+C to skip.");
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
        _skipFlush.Dispose();
    }

    private void Received(int signal)
    {
        lock (_lock)
        {
            if (_exited.IsCancellationRequested)
            {
                return;
            }

            if (_flushing && signal is SigInt or SigTerm)
            {
                ProgramSignalsLog.SkippingFinalFlush(_logger, signal);
                _skipFlush.Cancel();
                return;
            }

            if (_program is null)
            {
                ProgramSignalsLog.BeforeProgram(_logger, signal);
                _pending.Add(signal);
                _interrupted.Cancel();
                return;
            }

            OnSignal(signal);
        }
    }

    // Under _lock, with the program running or the processes it left behind.
    private void OnSignal(int signal)
    {
        var program = _program!;
        var typed = signal is SigInt or SigQuit && ProcessStatus.TryRead(Environment.ProcessId) is { IsInTerminalForeground: true };
        if (_waitingForLeftBehind)
        {
            OnSignalWhileLeftBehind(program, signal, typed);
            return;
        }

        _stopAsked = true;
        _typedStop = typed ? signal : 0;
        switch (signal)
        {
            case SigInt:
                if (ProgramGotTerminalKey(program) && ProcessDetails.Catches(program.ProcessId, SigInt))
                {
                    // Typed on the terminal and caught by the program (a REPL, a server shutting
                    // down): its business, like under kubectl exec -it. No notice, no kill at the next one.
                    ProgramSignalsLog.ProgramHandlesCtrlC(_logger, program.ProcessId);
                    break;
                }

                var now = Stopwatch.GetTimestamp();
                if (_lastInterrupt != 0 && Stopwatch.GetElapsedTime(_lastInterrupt, now) <= AgainWindow)
                {
                    Force(program);
                    return;
                }

                _lastInterrupt = now;
                var programGotIt = ProgramGotTerminalKey(program);
                DeliverUnlessTheTerminalDid(program, signal, programGotIt);
                if (programGotIt)
                {
                    _ = NoticeAsync(program, now); // a person at the terminal may wonder why doppel still runs
                }

                break;

            case SigQuit:
                DeliverUnlessTheTerminalDid(program, signal, ProgramGotTerminalKey(program));
                break;

            case SigHup:
                if (LeadsItsSession())
                {
                    HangUpAsSessionLeader(program);
                }
                else
                {
                    DeliverUnlessTheTerminalDid(program, signal, _startedOnTerminal && InDoppelsGroup(program));
                }

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

    private void OnSignalWhileLeftBehind(InterceptedProcess program, int signal, bool typed)
    {
        if (!_stoppingLeftBehind)
        {
            _typedStop = typed ? signal : 0;
            var leftBehind = program.LeftBehind();
            Say($"stopping {Processes(leftBehind.Count)} '{_name}' left running: SIGTERM now, SIGKILL {TermGrace.TotalSeconds:0} s later or at the next Ctrl+C.");
            StopLeftBehind(program);
        }
        else if (signal == SigInt)
        {
            var killed = program.KillProcessTree();
            Say($"stopped what '{_name}' left running: {Processes(killed)} killed with SIGKILL.");
        }
    }

    /// <summary>
    /// SIGTERM to each process left behind, except one that got a Ctrl+C typed on doppel's terminal
    /// (it is in the terminal's foreground group, doppel's) and handles it itself; SIGKILL to all that
    /// still run <see cref="TermGrace"/> later. Under _lock.
    /// </summary>
    private void StopLeftBehind(InterceptedProcess program)
    {
        _stoppingLeftBehind = true;
        var group = ProcessStatus.TryRead(Environment.ProcessId)?.ProcessGroup;
        foreach (var pid in program.LeftBehind())
        {
            if (_typedStop != 0 && ProcessStatus.TryRead(pid)?.ProcessGroup == group && ProcessDetails.Catches(pid, _typedStop))
            {
                ProgramSignalsLog.HandlesCtrlCItself(_logger, pid);
                continue;
            }

            ProgramSignalsLog.TerminatingLeftBehind(_logger, pid);
            ProcessTree.Signal(pid, SigTerm);
        }

        _ = KillLeftBehindLaterAsync(program);
    }

    private async Task KillLeftBehindLaterAsync(InterceptedProcess program)
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
            if (!_exited.IsCancellationRequested && program.KillProcessTree() is > 0 and var killed)
            {
                Say($"{Processes(killed)} left running by '{_name}' did not exit within {TermGrace.TotalSeconds:0} s of SIGTERM: killed with SIGKILL.");
            }
        }
    }

    private string ExitedLine(int code, IReadOnlyList<int> leftBehind, bool stopping)
    {
        var one = leftBehind.Count == 1;
        var named = string.Join(", ", leftBehind.Take(NamedLeftBehind).Select(pid => $"pid {pid} {ProcessDetails.Name(pid)}"));
        var more = leftBehind.Count > NamedLeftBehind ? $" and {leftBehind.Count - NamedLeftBehind} more" : string.Empty;
        var head = $"'{_name}' exited with {code}, but {(one ? "a process" : $"{leftBehind.Count} processes")} it started still {(one ? "runs" : "run")} ({named}{more}); ";
        var them = one ? "it" : "them";
        return stopping
            ? head + $"stopping {them}: SIGTERM now, SIGKILL {TermGrace.TotalSeconds:0} s later or at the next Ctrl+C."
            : head + $"doppel keeps serving {them} until {(one ? "it exits" : "they exit")}; Ctrl+C (or SIGTERM to doppel) stops {them}.";
    }

    private static string Processes(int count) => count == 1 ? "1 process" : $"{count} processes";

    private void DeliverUnlessTheTerminalDid(InterceptedProcess program, int signal, bool terminalDelivered)
    {
        if (terminalDelivered)
        {
            ProgramSignalsLog.FromTerminal(_logger, signal, program.ProcessId);
            return;
        }

        Deliver(program, signal);
    }

    private void Deliver(InterceptedProcess program, int signal)
    {
        ProgramSignalsLog.Forwarding(_logger, signal, program.ProcessId);
        program.Signal(signal);
    }

    /// <summary>
    /// doppel leads its session (<c>script -c</c>, <c>ssh -t</c>, <c>tmux new</c>): a hang-up sends
    /// SIGHUP to the session leader only, so doppel sends it on to the program and to the processes it
    /// started in doppel's (the terminal's foreground) group, as the kernel does when a session leader
    /// without a shell goes away. Under _lock.
    /// </summary>
    private void HangUpAsSessionLeader(InterceptedProcess program)
    {
        Deliver(program, SigHup);
        if (!_startedOnTerminal)
        {
            return; // a SIGHUP from kill, not a hang-up
        }

        var group = ProcessStatus.TryRead(Environment.ProcessId)?.ProcessGroup;
        foreach (var pid in ProcessTree.Descendants(program.ProcessId).Concat(program.LeftBehind()).Distinct())
        {
            if (ProcessStatus.TryRead(pid)?.ProcessGroup == group)
            {
                ProgramSignalsLog.Forwarding(_logger, SigHup, pid);
                ProcessTree.Signal(pid, SigHup);
            }
        }
    }

    private static bool LeadsItsSession() => ProcessStatus.TryRead(Environment.ProcessId) is { } self && self.Session == self.ProcessId;

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
