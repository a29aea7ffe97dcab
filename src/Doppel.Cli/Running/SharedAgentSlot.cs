using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Doppel.Cli.Running;

/// <summary>
/// Where the one local agent of a target lives, so that every doppel session of that target on
/// this machine uses the same agent (issue 10 item 5: one agent per target serves every session —
/// two agents would each install a redirect table, and the first one would take every request).
/// One directory per target, <c>/run/doppel/agents/KEY</c> (0700, root; removed by a later
/// session or the last one once its agent is gone: <see cref="RemoveStale"/>), holding:
/// <code>
///   agent.sock  the agent's unix socket          lock   held exclusively while a session starts,
///   agent.pid   the agent's PID (for messages)          joins or leaves the agent
///   users       held shared by every session for its whole life (the kernel drops it when the
///               session's process dies, SIGKILL too), so a leaving session can tell whether
///               it was the last one
/// </code>
/// Locks are <c>flock</c> locks taken through <see cref="FileStream"/>'s <see cref="FileShare"/>
/// (on Unix .NET takes <c>LOCK_EX|LOCK_NB</c> for <see cref="FileShare.None"/> and
/// <c>LOCK_SH|LOCK_NB</c> otherwise, and throws <see cref="IOException"/> when another
/// holder conflicts); .NET opens files close-on-exec, so neither the agent nor the program
/// inherits them.
/// </summary>
internal sealed class SharedAgentSlot : IDisposable
{
    /// <summary>The directory of all targets' slots.</summary>
    public const string Root = "/run/doppel/agents";

    private static readonly TimeSpan s_poll = TimeSpan.FromMilliseconds(20);
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private FileStream? _user;

    private SharedAgentSlot(string directory, FileStream user)
    {
        Directory = directory;
        _user = user;
    }

    /// <summary>The slot's directory.</summary>
    public string Directory { get; }

    /// <summary>The agent's unix socket.</summary>
    public string SocketPath => Path.Combine(Directory, "agent.sock");

    private string PidPath => Path.Combine(Directory, "agent.pid");

    private string LockPath => Path.Combine(Directory, "lock");

    private string UsersPath => Path.Combine(Directory, "users");

    /// <summary>
    /// The slot's name for a local target: <c>pid-N-STARTTIME</c> (the start time from
    /// <c>/proc/N/stat</c>, so a reused PID is another target), <c>container-ID</c>; null for
    /// a target without a process (targetless), whose agent is not shared.
    /// </summary>
    public static string? Key(Doppel.Config.TargetConfig target)
    {
        ArgumentNullException.ThrowIfNull(target);
        var path = target.Path;
        if (target.Kind == Doppel.Config.TargetKind.Pid && path.StartsWith("pid/", StringComparison.Ordinal) && int.TryParse(path.AsSpan(4), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
        {
            return string.Create(CultureInfo.InvariantCulture, $"pid-{pid}-{StartTime(pid)}");
        }

        if (target.Kind == Doppel.Config.TargetKind.Container)
        {
            var safe = new StringBuilder();
            foreach (var c in path)
            {
                safe.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '-');
            }

            return safe.ToString();
        }

        return null;
    }

    /// <summary>Opens (creating it) the slot for <paramref name="key"/> and joins its users; <see cref="Dispose"/> or <see cref="Leave"/> leaves.</summary>
    public static SharedAgentSlot Open(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        System.IO.Directory.CreateDirectory("/run/doppel", OwnerOnly);
        System.IO.Directory.CreateDirectory(Root, OwnerOnly);
        RemoveStale(Root);
        var directory = Path.Combine(Root, key);
        FileStream? user = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (user is null)
        {
            // Shared: conflicts only with a leaving session's brief exclusive look (Leave) and
            // with another doppel removing the slot as stale (RemoveStale), after which it is
            // made again here.
            System.IO.Directory.CreateDirectory(directory, OwnerOnly);
            user = TryOpen(Path.Combine(directory, "users"), FileShare.ReadWrite);
            if (user is null)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new IOException($"{directory}/users stayed locked for 10 s.");
                }

                Thread.Sleep(s_poll);
            }
        }

        return new SharedAgentSlot(new DirectoryInfo(directory).FullName, user);
    }

    /// <summary>
    /// Removes the slots under <paramref name="root"/> that nothing will use again and no session
    /// uses now (the <c>users</c> lock is free): those of pid targets that have ended (the PID is
    /// gone or is another process now: their key names a process that no longer exists), and those
    /// of any target (container ones too) whose agent is gone — the PID in <c>agent.pid</c> no
    /// longer runs, or there is no <c>agent.pid</c> and nothing answers on <c>agent.sock</c>. A slot
    /// whose agent still runs stays, so a later session joins that agent rather than starting a
    /// second one. Called when a session opens a slot and after the last session stopped its
    /// agent; returns how many slots went.
    /// </summary>
    internal static int RemoveStale(string root)
    {
        var removed = 0;
        foreach (var directory in System.IO.Directory.EnumerateDirectories(root))
        {
            if (!IsEndedPidTarget(Path.GetFileName(directory)) && !IsAgentGone(directory))
            {
                continue;
            }

            using var unused = TryOpen(Path.Combine(directory, "users"), FileShare.None);
            if (unused is null)
            {
                continue;
            }

            try
            {
                System.IO.Directory.Delete(directory, recursive: true);
                removed++;
            }
            catch (IOException)
            {
                // Another doppel removes it at the same moment, or a session is making it again.
            }
        }

        return removed;
    }

    private static bool IsEndedPidTarget(string key)
    {
        var parts = key.Split('-');
        return parts.Length == 3 && parts[0] == "pid" && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && StartTime(pid) != parts[2];
    }

    private static bool IsAgentGone(string directory)
    {
        var pid = ReadPid(Path.Combine(directory, "agent.pid"));
        return pid > 0 ? !System.IO.Directory.Exists($"/proc/{pid}") : !IsServed(Path.Combine(directory, "agent.sock"));
    }

    /// <summary>Waits for the slot's exclusive lock (one session starts, joins or leaves at a time); disposing the result releases it.</summary>
    public async Task<IDisposable> LockAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        while (true)
        {
            if (TryOpen(LockPath, FileShare.None) is { } locked)
            {
                return locked;
            }

            try
            {
                await Task.Delay(s_poll, limit.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new Doppel.Session.Agent.AgentConnectionException($"another doppel session held {LockPath} for {timeout.TotalSeconds:0} s (agent.startup_timeout); try again.");
            }
        }
    }

    /// <summary>True when an agent accepts connections on the slot's socket (call under <see cref="LockAsync"/>).</summary>
    public bool IsServed() => IsServed(SocketPath);

    /// <summary>The serving agent's PID as its starter recorded it, 0 when unknown.</summary>
    public int ReadPid() => ReadPid(PidPath);

    internal static bool IsServed(string socketPath)
    {
        if (!File.Exists(socketPath))
        {
            return false;
        }

        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(socketPath));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int ReadPid(string pidPath)
    {
        try
        {
            return int.TryParse(File.ReadAllText(pidPath).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>Records the PID of the agent this session started.</summary>
    public void WritePid(int pid) => File.WriteAllText(PidPath, pid.ToString(CultureInfo.InvariantCulture) + "\n");

    /// <summary>
    /// Leaves the users (call under <see cref="LockAsync"/>); true when no other session uses the
    /// slot any more, in which case the socket and PID files are removed (the lock files stay:
    /// another session may be waiting on them).
    /// </summary>
    public bool Leave()
    {
        _user?.Dispose();
        _user = null;
        using var alone = TryOpen(UsersPath, FileShare.None);
        if (alone is null)
        {
            return false;
        }

        File.Delete(SocketPath);
        File.Delete(PidPath);
        return true;
    }

    public void Dispose()
    {
        _user?.Dispose();
        _user = null;
    }

    private static FileStream? TryOpen(string path, FileShare share)
    {
        try
        {
            return new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.OpenOrCreate,
                Access = FileAccess.ReadWrite,
                Share = share,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
        }
        catch (IOException)
        {
            return null; // locked by another session (EWOULDBLOCK comes as a sharing violation)
        }
    }

    // Field 22 of /proc/PID/stat (after the parenthesised command name, which may hold spaces); 0 when unreadable.
    private static string StartTime(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return fields.Length > 19 ? fields[19] : "0";
        }
        catch (IOException)
        {
            return "0";
        }
        catch (UnauthorizedAccessException)
        {
            return "0";
        }
    }
}
