using Microsoft.Extensions.Logging;

namespace Doppel.Interception;

/// <summary>What to run under interception and how.</summary>
public sealed record InterceptionOptions
{
    /// <summary>The program as the user typed it: looked up in PATH like a shell does unless it contains a '/'.</summary>
    public required string Program { get; init; }

    /// <summary>Arguments after the program (argv[1..]).</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>The complete environment of the program; null inherits doppel's.</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    /// <summary>The program's working directory; null inherits doppel's.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>
    /// A directory that exists only in the pod (absolute, as the program sees it) that the program
    /// starts in: its <c>getcwd</c> answers it and its relative paths resolve against it, while the
    /// kernel's working directory stays <see cref="WorkingDirectory"/>. Needs a policy that traps
    /// file calls (<see cref="Policy.SyscallFamilies.FilesRead"/>); null starts in <see cref="WorkingDirectory"/>.
    /// </summary>
    public string? VirtualWorkingDirectory { get; init; }

    /// <summary>
    /// The executable that serves as launcher (it must call <see cref="LauncherMode"/> first thing):
    /// <c>doppel</c> itself in the product, the <c>doppel</c> apphost in tests.
    /// </summary>
    public string LauncherPath { get; init; } = System.Environment.ProcessPath ?? "doppel";

    /// <summary>Arguments placed before the launcher mode's own (e.g. the dll when the launcher is <c>dotnet</c>).</summary>
    public IReadOnlyList<string> LauncherPrefixArguments { get; init; } = [];

    /// <summary>
    /// The session's file sync that serves remote paths (fetch, cache tree, write-back); required
    /// when the policy traps file calls. Its owner disposes it; the final flush runs before
    /// <see cref="InterceptedProcess.WaitForExitAsync"/> returns.
    /// </summary>
    public Files.IFileSync? Files { get; init; }

    /// <summary>
    /// Keep the processes the program leaves behind (<c>server &amp;</c>, a double-forked daemon)
    /// findable: this process becomes their child subreaper, reaps them as they exit, and
    /// <see cref="InterceptedProcess.LeftBehind"/> lists them. Set it only where the caller then
    /// waits for <see cref="InterceptedProcess.ProcessTreeExited"/>; it changes the whole process
    /// for its remaining life (prctl <c>PR_SET_CHILD_SUBREAPER</c>).
    /// </summary>
    public bool KeepServingLeftBehind { get; init; }

    /// <summary>Capture stdout/stderr (tests); otherwise the program shares doppel's.</summary>
    public bool CaptureOutput { get; init; }

    /// <summary>
    /// The soft open-files limit (RLIMIT_NOFILE) the program starts with. .NET raises doppel's
    /// soft limit to the hard limit at start-up and the launcher inherits it; pass the limit the
    /// user had (<see cref="ParentOpenFilesLimit"/>) so the program sees what it would without
    /// doppel. Null keeps the raised limit.
    /// </summary>
    public ulong? OpenFilesLimit { get; init; }

    /// <summary>The soft open-files limit of doppel's parent (the user's shell), if readable.</summary>
    public static ulong? ParentOpenFilesLimit()
    {
        return Doppel.Linux.Processes.ProcessStatus.TryRead(System.Environment.ProcessId) is { } self
            ? Doppel.Linux.Processes.ResourceLimits.ReadOpenFilesSoftLimit(self.ParentId)
            : null;
    }

    /// <summary>Where the supervisor logs (debug: every redirect and served file); null logs nothing.</summary>
    public ILogger? Logger { get; init; }
}
