using System.Diagnostics;
using System.Globalization;
using Doppel.Session.Agent;
using Microsoft.Extensions.Logging;

namespace Doppel.Cli.Running;

/// <summary>
/// A <c>doppel-agent</c> process this doppel started for a local target (pid/N, container/ID or
/// targetless), listening on a unix socket in a private directory. If it dies while the session
/// runs, it is started again on the same socket: the session's connections reconnect on their next
/// call, and the user's program keeps running. Disposing stops it and removes the directory.
/// </summary>
internal sealed class LocalAgent : IAsyncDisposable
{
    private const int MaxRestarts = 5;

    private readonly string _executable;
    private readonly IReadOnlyList<string> _arguments;
    private readonly string _directory;
    private readonly TimeSpan _startupTimeout;
    private readonly Action<string> _warn;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private Process? _process;
    private Task? _watch;
    private int _restarts;

    private LocalAgent(string executable, IReadOnlyList<string> arguments, string directory, TimeSpan startupTimeout, Action<string> warn, ILogger logger)
    {
        _executable = executable;
        _arguments = arguments;
        _directory = directory;
        _startupTimeout = startupTimeout;
        _warn = warn;
        _logger = logger;
        Endpoint = AgentEndpoint.Unix(Path.Combine(directory, "agent.sock"));
    }

    public AgentEndpoint Endpoint { get; }

    /// <summary>The running agent's PID (changes after a restart).</summary>
    public int ProcessId => _process?.Id ?? 0;

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
    public static async Task<LocalAgent> StartAsync(string executable, IReadOnlyList<string> targetArguments, TimeSpan idleExit, TimeSpan startupTimeout, Action<string> warn, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(targetArguments);
        var directory = Directory.CreateTempSubdirectory("doppel-").FullName; // 0700
        var socket = Path.Combine(directory, "agent.sock");
        string[] arguments =
        [
            .. targetArguments,
            "--listen", "unix:" + socket,
            "--idle-exit", idleExit.TotalSeconds.ToString(CultureInfo.InvariantCulture),
        ];
        var agent = new LocalAgent(executable, arguments, directory, startupTimeout, warn, logger);
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
                    process.Dispose();
                }

                break;
            }
        }

        _stopping.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException e)
        {
            _logger.LogDebug("could not remove {Directory}: {Message}", _directory, e.Message);
        }
    }

    private async Task LaunchAsync(CancellationToken cancellationToken)
    {
        // In its own session: the terminal's Ctrl+C is meant for the user's program, while the
        // agent must keep serving the session until that program has exited.
        var info = NewSessionMode.StartInfo(_executable, _arguments);
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.RedirectStandardInput = true;

        _logger.LogDebug("starting {Agent} {Arguments}", _executable, string.Join(' ', _arguments));
        var process = Process.Start(info) ?? throw new AgentConnectionException($"could not start {_executable}.");
        _process = process;
        var errors = new List<string>();
        var stderr = Task.Run(async () =>
        {
            while (await process.StandardError.ReadLineAsync(CancellationToken.None).ConfigureAwait(false) is { } line)
            {
                lock (errors)
                {
                    errors.Add(line);
                }

                _logger.LogDebug("agent: {Line}", line);
            }
        }, CancellationToken.None);

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

        _ = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync(CancellationToken.None).ConfigureAwait(false) is { } more)
            {
                _logger.LogDebug("agent: {Line}", more);
            }
        }, CancellationToken.None);
        _watch = WatchAsync(process);
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
