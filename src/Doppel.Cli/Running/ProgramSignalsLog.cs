using Microsoft.Extensions.Logging;

namespace Doppel.Cli.Running;

/// <summary>What <see cref="ProgramSignals"/> logs at debug level (event ids 300–399).</summary>
internal static partial class ProgramSignalsLog
{
    [LoggerMessage(EventId = 301, Level = LogLevel.Debug, Message = "signal {Signal} before the program runs: not starting it")]
    public static partial void BeforeProgram(ILogger logger, int signal);

    [LoggerMessage(EventId = 302, Level = LogLevel.Debug, Message = "pid {Pid} got the terminal's Ctrl+C and handles it: no SIGTERM")]
    public static partial void HandlesCtrlCItself(ILogger logger, int pid);

    [LoggerMessage(EventId = 303, Level = LogLevel.Debug, Message = "SIGTERM to pid {Pid}, left behind by the program")]
    public static partial void TerminatingLeftBehind(ILogger logger, int pid);

    [LoggerMessage(EventId = 304, Level = LogLevel.Debug, Message = "signal {Signal} came from the terminal: the program (pid {Pid}) got it too")]
    public static partial void FromTerminal(ILogger logger, int signal, int pid);

    [LoggerMessage(EventId = 305, Level = LogLevel.Debug, Message = "forwarding signal {Signal} to the program (pid {Pid})")]
    public static partial void Forwarding(ILogger logger, int signal, int pid);

    [LoggerMessage(EventId = 306, Level = LogLevel.Debug, Message = "the program (pid {Pid}) got the terminal's Ctrl+C and catches SIGINT: it decides what Ctrl+C does")]
    public static partial void ProgramHandlesCtrlC(ILogger logger, int pid);

    [LoggerMessage(EventId = 307, Level = LogLevel.Debug, Message = "signal {Signal} during the final flush: the files not sent yet are skipped")]
    public static partial void SkippingFinalFlush(ILogger logger, int signal);
}
