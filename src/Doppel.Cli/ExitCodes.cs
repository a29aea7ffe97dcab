namespace Doppel.Cli;

/// <summary>doppel's own exit codes (docs/cli.md). <c>exec</c> otherwise passes the program's code through.</summary>
public static class ExitCodes
{
    public const int Success = 0;

    /// <summary>An unexpected internal error (a bug): the message says where to look.</summary>
    public const int InternalError = 1;

    /// <summary>The configuration or the command line is invalid; the message names the file, key and line, or the flag.</summary>
    public const int ConfigError = 2;

    /// <summary>The command exists but cannot do its work: the target or its agent cannot be reached (a Kubernetes target on this build, a dead process, a missing doppel-agent); nothing was run.</summary>
    public const int Unavailable = 69;

    /// <summary>
    /// <c>exec</c>: the program exited 0, but a file it wrote could not be written back to the pod
    /// (each such file was named in an error line). A program that failed keeps its own code.
    /// </summary>
    public const int WriteBackFailed = 74;

    /// <summary>A local target needs root (the agent joins the target's namespaces) and doppel is not root; nothing was run.</summary>
    public const int NoPermission = 77;

    /// <summary>The program was found but cannot be executed (as a shell says).</summary>
    public const int CannotExecute = 126;

    /// <summary>The program was not found (as a shell says).</summary>
    public const int CommandNotFound = 127;

    /// <summary>Interrupted (Ctrl+C or another signal) before the program ran, or the program stopped by a second Ctrl+C (128 + SIGINT).</summary>
    public const int Interrupted = 130;
}
