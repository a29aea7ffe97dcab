using System.Diagnostics;
using System.Text;

namespace Doppel.Testing;

/// <summary>
/// A <c>doppel-agent</c> a test or benchmark starts itself (not a doppel exec's child), on a unix
/// socket that sessions join through <c>DOPPEL_AGENT_SOCKET</c>, so several <c>doppel exec</c>
/// sessions share it (as developers share one agent per target) and the caller can SIGKILL it by
/// its PID or read its memory. Disposing kills it (if still running) and removes its directory.
/// </summary>
public sealed class SharedAgent : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;
    private readonly StringBuilder _errors = new();

    private SharedAgent(Process process, string directory, string socketPath)
    {
        _process = process;
        _directory = directory;
        SocketPath = socketPath;
    }

    public string SocketPath { get; }

    public int Pid => _process.Id;

    /// <summary>What the agent wrote to stderr so far (drained continuously).</summary>
    public string ErrorOutput
    {
        get
        {
            lock (_errors)
            {
                return _errors.ToString();
            }
        }
    }

    /// <summary>The environment a <c>doppel exec</c> needs to join this agent, with <c>USER</c> (the seed filter's template variable).</summary>
    public IReadOnlyDictionary<string, string?> SessionEnvironment(string user) =>
        new Dictionary<string, string?> { ["DOPPEL_AGENT_SOCKET"] = SocketPath, ["USER"] = user };

    /// <summary>
    /// Starts <c>EXECUTABLE --target pid/TARGET --listen unix:… --log-level LEVEL</c> and waits (up to
    /// 30 s) for its "listening on" line; <paramref name="environment"/> adds variables. Throws
    /// <see cref="InvalidOperationException"/> with its stderr when it does not start.
    /// </summary>
    public static async Task<SharedAgent> StartAsync(
        string executable, int targetPid, IReadOnlyDictionary<string, string>? environment, CancellationToken cancellationToken, string logLevel = "debug")
    {
        var directory = Directory.CreateTempSubdirectory("doppel-e2e-agent-").FullName;
        var socketPath = Path.Combine(directory, "agent.sock");
        var info = new ProcessStartInfo(executable)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in (string[])["--target", $"pid/{targetPid}", "--listen", "unix:" + socketPath, "--idle-exit", "600", "--log-level", logLevel])
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException("doppel-agent could not be started.");
        }
        catch
        {
            Directory.Delete(directory, recursive: true);
            throw;
        }

        var agent = new SharedAgent(process, directory, socketPath);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (agent._errors)
                {
                    agent._errors.AppendLine(e.Data);
                }
            }
        };
        process.BeginErrorReadLine();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            var line = await process.StandardOutput.ReadLineAsync(timeout.Token);
            if (line != "listening on unix:" + socketPath)
            {
                throw new InvalidOperationException($"doppel-agent did not start: '{line}' {agent.ErrorOutput}");
            }

            return agent;
        }
        catch
        {
            await agent.DisposeAsync();
            throw;
        }
    }

    /// <summary>SIGKILL (the caller's own agent, by its PID) and waits for its exit.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                await _process.WaitForExitAsync();
            }
        }
        finally
        {
            _process.Dispose();
            if (Directory.Exists(_directory))
            {
                Directory.Delete(_directory, recursive: true);
            }
        }
    }
}
