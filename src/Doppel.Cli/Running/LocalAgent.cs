using System.Diagnostics;
using System.Globalization;
using Doppel.Session.Agent;
using Microsoft.Extensions.Logging;

namespace Doppel.Cli.Running;

/// <summary>
/// The <c>doppel-agent</c> of a local target. A target with a process (pid/N, container/ID) has
/// one agent for every doppel session on this machine (<see cref="SharedAgentSlot"/>): the first
/// session starts it on the slot's socket, later ones join it; targetless sessions each start their
/// own in a private directory. If the agent this doppel started dies while the session runs, it is
/// started again on the same socket: the sessions' connections reconnect on their next call, and
/// the user's program keeps running. Disposing leaves the slot; the last session to leave stops
/// the agent it started and waits for the tasks reading its output, an earlier one leaves it to
/// the others (the agent exits <c>agent.ttl</c> after its last client).
/// <code>
///   agent stderr ──log line "debug: …"──► agentLine ("agent: debug: …" on doppel's stderr)
///   agent stderr ──other line─────────► kept for the start failure's message; debug log
///   agent stdout ──"listening on …"───► started; later lines: debug log
/// </code>
/// </summary>
internal sealed class LocalAgent : IAsyncDisposable
{
    /// <summary>
    /// The environment variable naming the unix socket of a <c>doppel-agent</c> that already runs
    /// (<c>DOPPEL_AGENT_SOCKET=/run/doppel/agent.sock</c>): doppel then joins it instead of starting
    /// its own, so several sessions on one machine share one agent for a target, as they do in a
    /// cluster (docs/cli.md, "Environment variables").
    /// </summary>
    public const string SocketVariable = "DOPPEL_AGENT_SOCKET";

    private const int MaxRestarts = 5;

    private readonly string _executable;
    private readonly IReadOnlyList<string> _arguments;
    private readonly string _directory;
    private readonly TimeSpan _startupTimeout;
    private readonly Action<string> _warn;
    private readonly Action<string> _agentLine;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly bool _attached;
    private readonly List<Task> _readers = [];
    private readonly SharedAgentSlot? _slot;
    private readonly string _socket;
    private Process? _process;
    private Task? _watch;
    private int _restarts;
    private int _joinedPid;
    private volatile bool _detached;

    private LocalAgent(string executable, IReadOnlyList<string> arguments, string directory, string socket, SharedAgentSlot? slot, TimeSpan startupTimeout, Action<string> warn, Action<string> agentLine, ILogger logger, bool attached = false)
    {
        _attached = attached;
        _executable = executable;
        _arguments = arguments;
        _directory = directory;
        _slot = slot;
        _startupTimeout = startupTimeout;
        _warn = warn;
        _agentLine = agentLine;
        _logger = logger;
        _socket = socket;
        Endpoint = AgentEndpoint.Unix(socket);
    }

    public AgentEndpoint Endpoint { get; }

    /// <summary>The running agent's PID (changes after a restart); for a joined agent, as its starter recorded it (0 when unknown).</summary>
    public int ProcessId => _process?.Id ?? _joinedPid;

    /// <summary>True when another doppel session of the same target had started the agent and this one joined it.</summary>
    public bool Joined { get; private set; }

    /// <summary>
    /// An agent someone else started, listening on <paramref name="socketPath"/> (<see cref="SocketVariable"/>):
    /// doppel neither starts, restarts nor stops it. <see cref="ProcessId"/> is 0.
    /// </summary>
    public static LocalAgent Attach(string socketPath, ILogger logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        var directory = Path.GetDirectoryName(Path.GetFullPath(socketPath)) ?? "/";
        return new LocalAgent(string.Empty, [], directory, Path.GetFullPath(socketPath), slot: null, TimeSpan.Zero, _ => { }, _ => { }, logger, attached: true);
    }

    /// <summary>Where the agent binary is: DOPPEL_AGENT_BINARY, else doppel-agent next to doppel; null when neither exists.</summary>
    public static string? FindExecutable(Func<string, string?> variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        if (variables("DOPPEL_AGENT_BINARY") is { Length: > 0 } configured)
        {
            return File.Exists(configured) ? Path.GetFullPath(configured) : null;
        }

        var besideUs = Path.Combine(AppContext.BaseDirectory, "doppel-agent");
        return File.Exists(besideUs) ? besideUs : null;
    }

    /// <summary>
    /// Joins the agent another session of the same target started (<paramref name="sharedKey"/>,
    /// <see cref="SharedAgentSlot.Key"/>), or starts the agent and waits until it listens (without
    /// a key: in a private directory, for this session alone). Throws
    /// <see cref="AgentConnectionException"/> with the agent's own error when it does not start.
    /// </summary>
    /// <param name="warn">Warnings for the person (the agent exited and is restarted).</param>
    /// <param name="agentLine">Each of the agent's log lines (<c>debug: …</c>), as the agent wrote it (only of an agent this session started).</param>
    public static async Task<LocalAgent> StartAsync(
        string executable, IReadOnlyList<string> targetArguments, string? sharedKey, Settings settings, Action<string> warn, Action<string> agentLine, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(targetArguments);
        ArgumentNullException.ThrowIfNull(settings);
        SharedAgentSlot? slot = null;
        string directory;
        if (sharedKey is null)
        {
            // 0700; "/doppel-RANDOM/agent.sock" must fit a unix socket path (under /tmp when $TMPDIR is too long).
            var parent = Doppel.Linux.Sockets.UnixSocketDirectory.For(40);
            directory = parent == Path.GetTempPath().TrimEnd('/')
                ? Directory.CreateTempSubdirectory("doppel-").FullName
                : Directory.CreateDirectory(Path.Combine(parent, "doppel-" + Guid.NewGuid().ToString("N")[..12]), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute).FullName;
        }
        else
        {
            try
            {
                slot = SharedAgentSlot.Open(sharedKey);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new AgentConnectionException($"the shared agent directory {Path.Combine(SharedAgentSlot.Root, sharedKey)} could not be used: {e.Message}");
            }

            directory = slot.Directory;
        }

        var socket = Path.Combine(directory, "agent.sock");
        string[] arguments =
        [
            .. targetArguments,
            "--listen", "unix:" + socket,
            "--idle-exit", settings.IdleExit.TotalSeconds.ToString(CultureInfo.InvariantCulture),
            "--log-level", settings.LogLevel,
        ];
        var agent = new LocalAgent(executable, arguments, directory, socket, slot, settings.StartupTimeout, warn, agentLine, logger);
        try
        {
            if (slot is null)
            {
                await agent.LaunchAsync(cancellationToken).ConfigureAwait(false);
                return agent;
            }

            using (await slot.LockAsync(settings.StartupTimeout, cancellationToken).ConfigureAwait(false))
            {
                if (slot.IsServed())
                {
                    agent.Joined = true;
                    agent._joinedPid = slot.ReadPid();
                    return agent;
                }

                await agent.LaunchAsync(cancellationToken).ConfigureAwait(false);
                slot.WritePid(agent.ProcessId);
            }

            return agent;
        }
        catch
        {
            await agent.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_slot is null && _attached)
        {
            // Someone else's agent: it and its directory stay.
        }
        else if (_slot is null)
        {
            await StopAsync().ConfigureAwait(false);
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException e)
            {
                LocalAgentLog.DirectoryNotRemoved(_logger, _directory, e.Message);
            }
        }
        else
        {
            IDisposable? locked = null;
            try
            {
                locked = await _slot.LockAsync(_startupTimeout, CancellationToken.None).ConfigureAwait(false);
            }
            catch (AgentConnectionException e)
            {
                LocalAgentLog.DirectoryNotRemoved(_logger, _slot.Directory, e.Message);
            }

            using (locked)
            {
                // The last session stops the agent (when it started it); otherwise the agent stays
                // for the others, and exits agent.ttl after the last of them.
                if (locked is not null && _slot.Leave())
                {
                    await (Joined ? StopJoinedAsync() : StopAsync()).ConfigureAwait(false);
                    RemoveStaleSlots();
                }
                else
                {
                    _detached = true;
                    _slot.Dispose();
                }
            }
        }

        _stopping.Dispose();
    }

    /// <summary>The last session removes its slot (its agent has just ended) and any other left behind; a failure is only logged.</summary>
    private void RemoveStaleSlots()
    {
        try
        {
            SharedAgentSlot.RemoveStale(SharedAgentSlot.Root);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LocalAgentLog.DirectoryNotRemoved(_logger, SharedAgentSlot.Root, e.Message);
        }
    }

    /// <summary>
    /// The last session stops a joined agent whose starter has left, by the PID the starter
    /// recorded, once <c>/proc/PID/cmdline</c> shows it is the agent listening on this slot's
    /// socket (a reused PID is left alone), and waits for its exit. Left to its idle exit, the
    /// agent would still accept the next session for <c>agent.ttl</c> and then quit under it.
    /// </summary>
    private async Task StopJoinedAsync()
    {
        string[] arguments;
        try
        {
            arguments = File.ReadAllText($"/proc/{_joinedPid}/cmdline").Split('\0');
        }
        catch (Exception e) when (_joinedPid <= 0 || e is IOException or UnauthorizedAccessException)
        {
            return; // gone already, or unknown
        }

        if (!arguments.Contains("unix:" + _socket, StringComparer.Ordinal))
        {
            return;
        }

        try
        {
            using var process = Process.GetProcessById(_joinedPid);
            process.Kill();
            using var wait = new CancellationTokenSource(_startupTimeout);
            await process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception or OperationCanceledException)
        {
            LocalAgentLog.JoinedAgentNotStopped(_logger, _joinedPid, e.Message);
        }
    }

    private async Task StopAsync()
    {
        // A restart may be under way: stop whichever process is current until none replaces it.
        while (true)
        {
            var process = _process;
            var watch = _watch;
            if (process is not null)
            {
                Stop(process);
            }

            if (watch is not null)
            {
                await watch.ConfigureAwait(false);
            }

            if (ReferenceEquals(process, _process))
            {
                if (process is not null)
                {
                    await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);

                    // The agent has exited: its pipes are at their end; its last lines are read before the streams close.
                    Task[] readers;
                    lock (_readers)
                    {
                        readers = [.. _readers];
                    }

                    await Task.WhenAll(readers).ConfigureAwait(false);
                    process.Dispose();
                }

                break;
            }
        }
    }

    /// <summary>Whether <paramref name="line"/> is one of the agent's log lines (<c>LEVEL: message</c>), not a fatal error or a runtime's message.</summary>
    internal static bool IsLogLine(string line) =>
        line.StartsWith("trace: ", StringComparison.Ordinal)
        || line.StartsWith("debug: ", StringComparison.Ordinal)
        || line.StartsWith("info: ", StringComparison.Ordinal)
        || line.StartsWith("warn: ", StringComparison.Ordinal)
        || line.StartsWith("error: ", StringComparison.Ordinal)
        || line.StartsWith("crit: ", StringComparison.Ordinal);

    private async Task LaunchAsync(CancellationToken cancellationToken)
    {
        // In its own session: the terminal's Ctrl+C is meant for the user's program, while the
        // agent must keep serving the session until that program has exited.
        var info = NewSessionMode.StartInfo(_executable, _arguments);
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.RedirectStandardInput = true;

        LocalAgentLog.Starting(_logger, _executable, _arguments);
        var process = Process.Start(info) ?? throw new AgentConnectionException($"could not start {_executable}.");
        _process = process;
        var errors = new List<string>();
        var stderr = ReadErrorsAsync(process, errors);
        Own(stderr);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_startupTimeout);
        string? line;
        try
        {
            line = await process.StandardOutput.ReadLineAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new AgentConnectionException($"the agent did not start within {_startupTimeout.TotalSeconds:0} s (agent.startup_timeout).");
        }

        if (line is null || !line.StartsWith("listening on ", StringComparison.Ordinal))
        {
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            await stderr.ConfigureAwait(false);
            string message;
            lock (errors)
            {
                message = errors.Count > 0 ? string.Join(' ', errors).Replace("doppel-agent: ", string.Empty, StringComparison.Ordinal) : $"it exited with code {process.ExitCode}";
            }

            throw new AgentConnectionException($"the agent did not start: {message}");
        }

        Own(ReadOutputAsync(process));
        _watch = WatchAsync(process);
    }

    /// <summary>Keeps a reader task so that dispose waits for it.</summary>
    private void Own(Task reader)
    {
        lock (_readers)
        {
            _readers.RemoveAll(t => t.IsCompleted);
            _readers.Add(reader);
        }
    }

    /// <summary>Reads the agent's stderr to its end: log lines go on, other lines are kept for a start failure's message.</summary>
    private async Task ReadErrorsAsync(Process process, List<string> errors)
    {
        await Task.Yield();
        try
        {
            while (await process.StandardError.ReadLineAsync(CancellationToken.None).ConfigureAwait(false) is { } line)
            {
                if (IsLogLine(line))
                {
                    if (!_detached)
                    {
                        _agentLine(line); // not once this session has left the agent to others
                    }

                    continue;
                }

                lock (errors)
                {
                    errors.Add(line);
                }

                LocalAgentLog.AgentOutput(_logger, line);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            LocalAgentLog.ReadFailed(_logger, "standard error", e.Message);
        }
    }

    /// <summary>Reads the agent's stdout after its "listening on" line to its end.</summary>
    private async Task ReadOutputAsync(Process process)
    {
        try
        {
            while (await process.StandardOutput.ReadLineAsync(CancellationToken.None).ConfigureAwait(false) is { } line)
            {
                LocalAgentLog.AgentOutput(_logger, line);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            LocalAgentLog.ReadFailed(_logger, "standard output", e.Message);
        }
    }

    /// <summary>Restarts the agent when it exits while the session still runs.</summary>
    private async Task WatchAsync(Process process)
    {
        await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        if (++_restarts > MaxRestarts)
        {
            _warn($"the agent exited (code {process.ExitCode}) {MaxRestarts} times; not starting it again: remote calls will fail.");
            return;
        }

        _warn($"the agent (pid {process.Id}) exited with code {process.ExitCode}; starting a new one. Connections it carried were reset.");
        try
        {
            if (_slot is null)
            {
                await LaunchAsync(_stopping.Token).ConfigureAwait(false);
                return;
            }

            using (await _slot.LockAsync(_startupTimeout, _stopping.Token).ConfigureAwait(false))
            {
                if (_slot.IsServed())
                {
                    // Another session of the target started one meanwhile: this session uses it.
                    _process = null;
                    _joinedPid = _slot.ReadPid();
                    return;
                }

                await LaunchAsync(_stopping.Token).ConfigureAwait(false);
                _slot.WritePid(ProcessId);
            }
        }
        catch (Exception e) when (e is AgentConnectionException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
            if (!_stopping.IsCancellationRequested)
            {
                _warn($"the agent could not be restarted: {e.Message}");
            }
        }
    }

    /// <summary>How the agent is run.</summary>
    /// <param name="IdleExit">The agent's <c>--idle-exit</c>: how long it stays after its last session (<c>agent.ttl</c>).</param>
    /// <param name="StartupTimeout">How long doppel waits for its "listening on" line (<c>agent.startup_timeout</c>).</param>
    /// <param name="LogLevel">The agent's <c>--log-level</c>: trace, debug, info, warn, error or off (<c>agent.log_level</c>).</param>
    internal sealed record Settings(TimeSpan IdleExit, TimeSpan StartupTimeout, string LogLevel);

    private static void Stop(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(); // our own child, by its PID
            }
        }
        catch (InvalidOperationException)
        {
        }
    }
}
