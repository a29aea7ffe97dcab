using System.Diagnostics;
using Doppel.Testing.Internal;

namespace Doppel.Testing;

/// <summary>
/// A process running in a pod. <see cref="Pid"/> is the server itself (not a wrapper): target it
/// as <c>pid/N</c>, read <c>/proc/N/environ</c>, <c>/proc/N/root</c>, <c>/proc/N/ns/net</c>.
/// </summary>
public sealed class PodProcess
{
    // Process pods: our own child, which exec'd into the server (ip netns exec → unshare → sh → server).
    // Container pods: the foreground `runc run`/`runc exec` that is the server's parent; it
    // exits once the container is killed and it has reaped the server.
    private readonly Process _process;
    private readonly bool _parentOnly;

    internal PodProcess(string name, int pid, string logPath, Process process, bool parentOnly)
    {
        Name = name;
        Pid = pid;
        LogPath = logPath;
        _process = process;
        _parentOnly = parentOnly;
    }

    public string Name { get; }

    public int Pid { get; }

    /// <summary>The file that receives the process's stdout and stderr.</summary>
    public string LogPath { get; }

    public bool HasExited => _parentOnly ? !IsAlive(Pid) : _process.HasExited;

    public string ReadLog() => File.Exists(LogPath) ? File.ReadAllText(LogPath) : "";

    internal async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_parentOnly)
        {
            // The container was killed: give runc a moment to reap and exit, then end it (never leave it behind).
            using var grace = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            grace.CancelAfter(TimeSpan.FromSeconds(5));
            try
            {
                await _process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }
        }

        Commands.Kill(_process);
        await _process.WaitForExitAsync(cancellationToken);
        _process.Dispose();
    }

    /// <summary>Alive and not a zombie.</summary>
    internal static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // "PID (comm) S ...": the state follows the last ')'.
            return stat[(stat.LastIndexOf(')') + 2)..][0] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    public override string ToString() => $"{Name} (pid {Pid})";
}
