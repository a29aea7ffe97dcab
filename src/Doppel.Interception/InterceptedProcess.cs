using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Doppel.Interception.Files;
using Doppel.Interception.Filtering;
using Doppel.Interception.Launching;
using Doppel.Interception.Network;
using Doppel.Interception.Policy;
using Doppel.Interception.Remote;
using Doppel.Interception.Supervision;
using Doppel.Linux.Processes;
using Doppel.Linux.Sockets;
using Doppel.Linux.Seccomp;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Win32.SafeHandles;

namespace Doppel.Interception;

/// <summary>
/// A program running under doppel's seccomp supervisor, with its children.
/// <code>
///   doppel ──spawn──► doppel __doppel-launch ... (launcher) ──execve──► program ──fork──► children
///     │                     │ seccomp(NEW_LISTENER)                      (all under the filter)
///     └◄── listener fd (pidfd_getfd) ──┘
/// </code>
/// </summary>
public sealed class InterceptedProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly SafeFileHandle? _pidfd;
    private readonly SeccompListener? _listener;
    private readonly Supervisor? _supervisor;
    private readonly IFileSync? _files;
    private bool KeepsLeftBehind { get; init; }

    private InterceptedProcess(Process process, SafeFileHandle? pidfd, SeccompListener? listener, Supervisor? supervisor, IFileSync? files)
    {
        _process = process;
        _pidfd = pidfd;
        _listener = listener;
        _supervisor = supervisor;
        _files = files;
    }

    /// <summary>The program's process id (the launcher's, which became the program by execve).</summary>
    public int ProcessId => _process.Id;

    /// <summary>The thread that forked the launcher: the program dies with it (SIGKILL), so it lives until <see cref="DisposeAsync"/>.</summary>
    private SpawningThread? Parent { get; init; }

    /// <summary>Where the program's non-blocking remote connects wait (OutgoingHandler.Connect.cs).</summary>
    private HoldingListener? Holding { get; init; }

    /// <summary>The program's stdout when <see cref="InterceptionOptions.CaptureOutput"/> is set.</summary>
    public StreamReader? StandardOutput { get; private init; }

    /// <summary>The program's stderr when <see cref="InterceptionOptions.CaptureOutput"/> is set.</summary>
    public StreamReader? StandardError { get; private init; }

    internal InterceptionStatistics? Statistics => _supervisor?.Statistics;

    /// <summary>
    /// Starts the program under interception. The launcher is spawned synchronously on the
    /// calling thread (so it inherits that thread's namespaces); the returned task completes
    /// once the supervisor owns the listener and the program is being exec'd, or once the
    /// launcher has exited on its own (e.g. command not found).
    /// </summary>
    public static async Task<InterceptedProcess> StartAsync(
        InterceptionOptions options, IInterceptionPolicy policy, IRemote remote, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(remote);
        if ((policy.Families & (SyscallFamilies.FilesRead | SyscallFamilies.FilesWrite)) != 0 && options.Files is null)
        {
            throw new ArgumentException("A policy that traps file calls needs InterceptionOptions.Files.", nameof(options));
        }

        var logger = options.Logger ?? NullLogger.Instance;

        var controlName = $"doppel-{Environment.ProcessId}-{Guid.NewGuid():N}.sock";
        var controlPath = Path.Combine(Doppel.Linux.Sockets.UnixSocketDirectory.For(controlName.Length + 1), controlName);
        using var control = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        control.Bind(new UnixDomainSocketEndPoint(controlPath));
        control.Listen(1);

        // Made here, on the calling thread: it must live in the network namespace the program
        // starts in (the launcher inherits this thread's), as the stand-ins do.
        var holding = (policy.Families & SyscallFamilies.Outgoing) != 0 ? new HoldingListener() : null;
        Process process;
        SpawningThread parent;
        try
        {
            var filter = FilterBuilder.Build(policy.Families);
            if (options.KeepServingLeftBehind)
            {
                Orphans.Adopt(); // before the program runs: it may leave a process behind at once
            }

            var arguments = new LauncherArguments(controlPath, filter, WaitKillableRecv: true, options.OpenFilesLimit, Environment.ProcessId, [options.Program, .. options.Arguments]);
            (process, parent) = SpawningThread.Spawn(() => Spawn(options, arguments));
            Orphans.Track(process.Id);
        }
        catch
        {
            File.Delete(controlPath);
            holding?.Dispose();
            throw;
        }

        try
        {
            var listener = await TakeListenerAsync(control, process, cancellationToken).ConfigureAwait(false);
            if (listener is null)
            {
                // The launcher exited before handing over (it printed why).
                holding?.Dispose();
                return new InterceptedProcess(process, null, null, null, null) { Parent = parent, StandardOutput = Out(options, process), StandardError = Err(options, process), KeepsLeftBehind = options.KeepServingLeftBehind };
            }

            var (pidfd, seccomp, go) = listener.Value;
            var directories = new WorkingDirectories();
            if (options.VirtualWorkingDirectory is { } start)
            {
                directories.Set(process.Id, start); // before the program runs: the launcher's id is the program's
            }

            var supervisor = new Supervisor(seccomp, policy, Handlers(policy, remote, options.Files, holding, directories, logger), logger);
            supervisor.Start();
            await go.SendAsync(new byte[] { (byte)'g' }, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            go.Dispose();

            return new InterceptedProcess(process, pidfd, seccomp, supervisor, options.Files)
            {
                Parent = parent,
                Holding = holding,
                StandardOutput = Out(options, process),
                StandardError = Err(options, process),
                KeepsLeftBehind = options.KeepServingLeftBehind,
            };
        }
        catch
        {
            TryKill(process);
            Orphans.Untrack(process.Id);
            process.Dispose();
            parent.Dispose();
            holding?.Dispose();
            throw;
        }
        finally
        {
            File.Delete(controlPath);
        }
    }

    /// <summary>
    /// Waits for the program to exit and returns its exit code: the code it passed to exit, or
    /// 128+N when signal N killed it (what a shell reports). The file sync's final flush runs
    /// first (<see cref="IFileSync.FlushAsync(CancellationToken)"/>: failures are reported there).
    /// </summary>
    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken)
    {
        await _process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (_files is not null)
        {
            await _files.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        return _process.ExitCode;
    }

    /// <summary>True once the program itself has exited (its children may still run).</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Sends a signal to the program (not to its children).</summary>
    public void Signal(int signal)
    {
        if (_pidfd is not null)
        {
            Pidfd.SendSignal(_pidfd, signal);
        }
    }

    /// <summary>
    /// Kills the program and every descendant still linked to it by parent ids, with SIGKILL
    /// (see <see cref="ProcessTree.Kill"/>), and with <see cref="InterceptionOptions.KeepServingLeftBehind"/>
    /// the processes it left behind too; returns how many processes were killed.
    /// </summary>
    public int KillProcessTree()
    {
        var killed = _process.HasExited ? 0 : ProcessTree.Kill(_process.Id);
        if (KeepsLeftBehind)
        {
            killed += Orphans.Roots().Sum(ProcessTree.Kill);
        }

        return killed;
    }

    /// <summary>
    /// With <see cref="InterceptionOptions.KeepServingLeftBehind"/>: the processes the program started
    /// that still run under its filter although their parent has exited (re-parented to this process),
    /// with their descendants, parents first. Empty without that option.
    /// </summary>
    public IReadOnlyList<int> LeftBehind()
    {
        if (!KeepsLeftBehind)
        {
            return [];
        }

        Orphans.ReapExited();
        return Orphans.LeftBehind();
    }

    /// <summary>
    /// Waits until no process is left under the filter (<see cref="ProcessTreeExited"/>), then sends
    /// the remote writes they left, as <see cref="WaitForExitAsync"/> does for the program's.
    /// </summary>
    public async Task WaitForProcessTreeAsync(CancellationToken cancellationToken)
    {
        await ProcessTreeExited.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (_files is not null)
        {
            await _files.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Completes when no process is left under the filter: the program and every descendant
    /// (daemons it left behind included). <see cref="DisposeAsync"/> before that leaves those
    /// descendants with ENOSYS for their trapped calls.
    /// </summary>
    public Task ProcessTreeExited => _supervisor?.Completion ?? Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            TryKill(_process);
            await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }

        Orphans.Untrack(_process.Id);
        Parent?.Dispose();
        _supervisor?.Dispose();
        _listener?.Dispose();
        _pidfd?.Dispose();
        Holding?.Dispose();
        _process.Dispose();
    }

    private static IEnumerable<ISyscallHandler> Handlers(IInterceptionPolicy policy, IRemote remote, IFileSync? files, HoldingListener? holding, WorkingDirectories directories, ILogger logger)
    {
        var families = policy.Families;
        if ((families & (SyscallFamilies.Outgoing | SyscallFamilies.OutgoingUdp)) != 0)
        {
            yield return new OutgoingHandler(policy, remote, new RedirectTable(), holding, logger);
        }

        if ((families & SyscallFamilies.Listen) != 0)
        {
            yield return new ListenHandler(policy, answersPeers: (families & (SyscallFamilies.Outgoing | SyscallFamilies.OutgoingUdp)) == 0);
        }

        if ((families & SyscallFamilies.Accept) != 0)
        {
            yield return new AcceptHandler(policy);
        }

        if ((families & (SyscallFamilies.FilesRead | SyscallFamilies.FilesWrite)) != 0)
        {
            yield return new FileHandler(policy, remote, files!, logger, directories);
        }

        var writeThrough = (families & SyscallFamilies.FilesWriteThrough) != 0 ? new WriteThroughHandler(files!) : null;
        if (writeThrough is not null)
        {
            yield return writeThrough;
        }

        if ((families & SyscallFamilies.FileLocks) != 0)
        {
            // After the write-through: its close is this handler's, which pushes through it first.
            yield return new LockHandler(files!, remote, writeThrough);
        }

        if ((families & SyscallFamilies.Hostname) != 0)
        {
            yield return new HostnameHandler(remote);
        }
    }

    private static Process Spawn(InterceptionOptions options, LauncherArguments launcher)
    {
        var start = new ProcessStartInfo(options.LauncherPath) { UseShellExecute = false };
        foreach (var argument in options.LauncherPrefixArguments.Concat(launcher.Format()))
        {
            start.ArgumentList.Add(argument);
        }

        if (options.Environment is not null)
        {
            start.Environment.Clear();
            foreach (var (key, value) in options.Environment)
            {
                start.Environment[key] = value;
            }
        }

        if (options.WorkingDirectory is not null)
        {
            start.WorkingDirectory = options.WorkingDirectory;
        }

        start.RedirectStandardOutput = options.CaptureOutput;
        start.RedirectStandardError = options.CaptureOutput;
        return Process.Start(start) ?? throw new InvalidOperationException("The launcher did not start.");
    }

    /// <summary>
    /// Accepts the launcher's connection and takes its listener with pidfd_getfd. Null when the
    /// launcher exited first.
    /// </summary>
    private static async Task<(SafeFileHandle Pidfd, SeccompListener Listener, Socket Go)?> TakeListenerAsync(
        Socket control, Process process, CancellationToken cancellationToken)
    {
        using var launcherGone = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var exited = process.WaitForExitAsync(launcherGone.Token);
        var accept = control.AcceptAsync(launcherGone.Token).AsTask();
        if (await Task.WhenAny(accept, exited).ConfigureAwait(false) != accept)
        {
            await launcherGone.CancelAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                (await accept.ConfigureAwait(false)).Dispose();
            }
            catch (OperationCanceledException)
            {
            }

            return null;
        }

        var connection = await accept.ConfigureAwait(false);
        try
        {
            await launcherGone.CancelAsync().ConfigureAwait(false);
            if (SocketCalls.GetPeerCredentials(connection)?.ProcessId != process.Id)
            {
                throw new InvalidOperationException("An unexpected process connected to the launcher's control socket.");
            }

            var text = new List<byte>();
            var one = new byte[1];
            while (text.Count < 16 && await connection.ReceiveAsync(one, SocketFlags.None, cancellationToken).ConfigureAwait(false) == 1 && one[0] != '\n')
            {
                text.Add(one[0]);
            }

            if (!int.TryParse(CollectionsMarshal.AsSpan(text), out var fd))
            {
                throw new InvalidOperationException("The launcher sent no listener fd.");
            }

            var pidfd = Pidfd.TryOpen(process.Id, out var errno)
                ?? throw new InvalidOperationException($"pidfd_open of the launcher failed (errno {errno}).");
            var listener = Pidfd.TryGetFd(pidfd, fd, out errno);
            if (listener is null)
            {
                pidfd.Dispose();
                throw new InvalidOperationException($"pidfd_getfd of the seccomp listener failed (errno {errno}).");
            }

            return (pidfd, new SeccompListener(listener), connection);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private static StreamReader? Out(InterceptionOptions options, Process process) => options.CaptureOutput ? process.StandardOutput : null;

    private static StreamReader? Err(InterceptionOptions options, Process process) => options.CaptureOutput ? process.StandardError : null;

    private static void TryKill(Process process)
    {
        try
        {
            process.Kill();
        }
        catch (InvalidOperationException)
        {
        }
    }
}
