using Doppel.Testing;

namespace Doppel.Bench;

/// <summary>
/// One <c>ip netns exec DEV doppel exec -t pid/N -- PROGRAM ARGS</c> for the benchmarks
/// (<see cref="DoppelExecProcess"/>, shared with the end-to-end tests): <see cref="Pid"/> is
/// doppel's, the agent, launcher and program are its children; stdin stays open so the program
/// can be told when to go on. A run that fails or goes silent throws with its output.
/// </summary>
internal sealed class DoppelExec : IRunningProgram
{
    private readonly DoppelExecProcess _process;
    private readonly string _description;

    private DoppelExec(DoppelExecProcess process, string description)
    {
        _process = process;
        _description = description;
    }

    public int Pid => _process.Pid;

    /// <param name="execOptions">More <c>doppel exec</c> options, put before <c>--</c> (e.g. <c>-f CONFIG</c>).</param>
    /// <param name="environment">Variables set (or, with null, removed) for doppel and so for the program.</param>
    public static DoppelExec Start(
        string developerNamespace, Launcher doppel, int targetPid, IReadOnlyList<string> command, string workingDirectory, bool keepStdinOpen = true,
        IReadOnlyList<string>? execOptions = null, IReadOnlyDictionary<string, string?>? environment = null)
    {
        execOptions ??= [];
        var process = DoppelExecProcess.Start(
            doppel.Path, developerNamespace, ["-t", $"pid/{targetPid}", .. execOptions, "--", .. command], workingDirectory, environment, keepStdinOpen);
        var options = execOptions.Count == 0 ? "" : string.Join(' ', execOptions.Select(o => o.Contains('/', StringComparison.Ordinal) ? Path.GetFileName(o) : o)) + " ";
        return new DoppelExec(process, $"doppel exec -t pid/{targetPid} {options}-- {string.Join(' ', command.Skip(1).Prepend(Path.GetFileName(command[0])))}");
    }

    /// <summary>Runs to the end; returns stdout. Throws when it fails or takes longer than <paramref name="timeout"/> (then kills it).</summary>
    public static async Task<string> RunAsync(
        string developerNamespace, Launcher doppel, int targetPid, IReadOnlyList<string> command, string workingDirectory, TimeSpan timeout, CancellationToken cancellationToken,
        IReadOnlyList<string>? execOptions = null, IReadOnlyDictionary<string, string?>? environment = null)
    {
        await using var exec = Start(developerNamespace, doppel, targetPid, command, workingDirectory, keepStdinOpen: false, execOptions, environment);
        return await exec.WaitAsync(timeout, cancellationToken);
    }

    /// <summary>The next line the program wrote, within <paramref name="timeout"/>.</summary>
    public async Task<string> ReadLineAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            return await _process.ReadLineAsync(timeout, cancellationToken)
                ?? throw new InvalidOperationException($"{_description} ended its output early: {await _process.WaitAsync(timeout, cancellationToken)}");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{_description}: {e.Message}", e);
        }
    }

    public Task WriteLineAsync(string line) => _process.WriteLineAsync(line);

    public async Task<string> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var result = await _process.WaitAsync(timeout, cancellationToken);
        return result.ExitCode == 0
            ? result.Stdout
            : throw new InvalidOperationException($"{_description} exited with {result.ExitCode}: {result}");
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
