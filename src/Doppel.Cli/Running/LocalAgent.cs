using System.Diagnostics;
using System.Globalization;
using Doppel.Session.Agent;
using Microsoft.Extensions.Logging;

namespace Doppel.Cli.Running;

/// <summary>
/// A <c>doppel-agent</c> process this doppel started for a local target (pid/N, container/ID or
/// targetless), listening on a unix socket in a private directory. If it dies while the session
/// runs, it is started again on the same socket: the session's connections reconnect on their next
/// call, and the user's program keeps running. Disposing stops it, waits for the tasks reading its
/// output, and removes the directory.
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
    private Process? _process;
    private Task? _watch;
    private int _restarts;

    private LocalAgent(string executable, IReadOnlyList<string> arguments, string directory, TimeSpan startupTimeout, Action<string> warn, Action<string> agentLine, ILogger logger, bool attached = false)
    {
        _attached = attached;
        _executable = executable;
        _arguments = arguments;
        _directory = directory;
        _startupTimeout = startupTimeout;
        _warn = warn;
        _agentLine = agentLine;
        _logger = logger;
        Endpoint = AgentEndpoint.Unix(Path.Combine(directory, "agent.sock"));
    }

    public AgentEndpoint Endpoint { get; private init; }

    /// <summary>The running agent's PID (changes after a restart).</summary>
    public int ProcessId => _process?.Id ?? 0;

    /// <summary>
    /// An agent someone else started, listening on <paramref name="socketPath"/> (<see cref="SocketVariable"/>):
    /// doppel neither starts, restarts nor stops it. <see cref="ProcessId"/> is 0.
    /// </summary>
    public static LocalAgent Attach(string socketPath, ILogger logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        var directory = Path.GetDirectoryName(Path.GetFullPath(socketPath)) ?? "/";
        return new LocalAgent(string.Empty, [], directory, TimeSpan.Zero, _ => { }, _ => { }, logger, attached: true)
        {
            Endpoint = AgentEndpoint.Unix(Path.GetFullPath(socketPath)),
        };
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
    /// Starts the agent and waits until it listens. Throws <see cref="AgentConnectionException"/>
    /// with the agent's own error when it does not start.
    /// </summary>
    /// <param name="warn">Warnings for the person (the agent exited and is restarted).</param>
    /// <param name="agentLine">Each of the agent's log lines (<c>debug: …</c>), as the agent wrote it.</param>
    public static async Task<LocalAgent> StartAsync(
        string executable, IReadOnlyList<string> targetArguments, Settings settings, Action<string> warn, Action<string> agentLine, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(targetArguments);
        ArgumentNullException.ThrowIfNull(settings);
        var directory = Directory.CreateTempSubdirectory("doppel-").FullName; // 0700
        var socket = Path.Combine(directory, "agent.sock");
        string[] arguments =
        [
            .. targetArguments,
            "--listen", "unix:" + socket,
            "--idle-exit", settings.IdleExit.TotalSeconds.ToString(CultureInfo.InvariantCulture),
            "--log-level", settings.LogLevel,
        ];
        var agent = new LocalAgent(executable, arguments, directory, settings.StartupTimeout, warn, agentLine, logger);
        try
        {
            await agent.LaunchAsync(cancellationToken).ConfigureAwait(false);
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

        _stopping.Dispose();
        if (_attached)
        {
            return; // its directory is its starter's
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException e)
        {
            LocalAgentLog.DirectoryNotRemoved(_logger, _directory, e.Message);
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
                    _agentLine(line);
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
            await LaunchAsync(_stopping.Token).ConfigureAwait(false);
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
