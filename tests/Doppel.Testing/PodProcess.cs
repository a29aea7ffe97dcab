using System.Diagnostics;
using Doppel.Testing.Internal;

namespace Doppel.Testing;

/// <summary>
/// A process running in a pod. <see cref="Pid"/> is the server itself (not a wrapper): target it
/// as <c>pid/N</c>, read <c>/proc/N/environ</c>, <c>/proc/N/root</c>, <c>/proc/N/ns/net</c>.
/// </summary>
public sealed class PodProcess
{
    // Process pods: our own child (ip netns exec → unshare → sh all exec'd into the server).
    // Container pods: null, the process belongs to runc's container and dies with it.
    private readonly Process? _process;

    internal PodProcess(string name, int pid, string logPath, Process? process)
    {
        Name = name;
        Pid = pid;
        LogPath = logPath;
        _process = process;
    }

    public string Name { get; }

    public int Pid { get; }

    /// <summary>The file that receives the process's stdout and stderr.</summary>
    public string LogPath { get; }

    public bool HasExited => _process?.HasExited ?? !IsAlive(Pid);

    public string ReadLog() => File.Exists(LogPath) ? File.ReadAllText(LogPath) : "";

    internal async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_process is null)
        {
            return;
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
