using System.Globalization;

namespace Doppel.Bench;

/// <summary>
/// The pod-file figures' (13–18) ways to run their client, <c>native/p9files.c</c>, on the
/// mini-cluster's app pod (<see cref="ClusterRig"/>):
/// <code>
///  developer netns                                         app pod (runc container)
///  doppel exec -t pid/APP [-f write.json] -- p9files … /data/p9/…  ──agent──►  /data/p9/…
///  direct, on the host: p9files … /proc/APP/root/data/p9/…          (the same files, no doppel)
/// </code>
/// Write mode is a configuration file with <c>feature.fs.mode = "write"</c>; read mode is no
/// configuration (the default). Locks are trapped in both (every mode that serves pod files).
/// <see cref="PodDirectory"/> is on the container's root, i.e. this machine's disk;
/// <see cref="MemoryDirectory"/> is a tmpfs mounted in the container's mount namespace (as an
/// emptyDir with <c>medium: Memory</c>), so a figure can be taken without the disk's cost.
/// </summary>
internal sealed class PodFileRig : IAsyncDisposable
{
    /// <summary>The pod directory the figures work in.</summary>
    public const string PodDirectory = "/data/p9";

    /// <summary>A tmpfs in the pod (inside <see cref="PodDirectory"/>).</summary>
    public const string MemoryDirectory = PodDirectory + "/mem";

    /// <summary>A tmpfs on this machine for doppel's temp directory (its copies of pod files) in the all-in-memory variant.</summary>
    public const string MemoryTempRoot = "/dev/shm";

    private static readonly TimeSpan s_runTimeout = TimeSpan.FromSeconds(120);

    private readonly string _writeConfig;
    private readonly DirectoryInfo _memoryTemp;
    private bool _mounted;

    private PodFileRig(ClusterRig cluster, string client, string writeConfig)
    {
        Cluster = cluster;
        Client = client;
        _writeConfig = writeConfig;
        // Short: doppel puts a unix socket named doppel-PID-GUID.sock in its TMPDIR (108 bytes at most for the whole path).
        _memoryTemp = Directory.CreateDirectory(Path.Combine(MemoryTempRoot, $"dbp9-{Guid.NewGuid():N}"[..13]));
    }

    public ClusterRig Cluster { get; }

    /// <summary>The compiled p9files.</summary>
    public string Client { get; }

    /// <summary>
    /// Compiles the client and writes the write-mode configuration into <paramref name="workDirectory"/>;
    /// makes <see cref="PodDirectory"/> in the pod and mounts <see cref="MemoryDirectory"/> (unmounted
    /// by <see cref="DisposeAsync"/>; it would go with the container's mount namespace anyway).
    /// </summary>
    public static async Task<PodFileRig> CreateAsync(ClusterRig cluster, string workDirectory, CancellationToken cancellationToken)
    {
        var client = await Workload.CompileFilesAsync(workDirectory, cancellationToken);
        var config = Path.Combine(workDirectory, "p9-write.json");
        await File.WriteAllTextAsync(config, """{ "feature": { "fs": { "mode": "write" } } }""", cancellationToken);
        Directory.CreateDirectory(cluster.App.HostPath(MemoryDirectory));
        var rig = new PodFileRig(cluster, client, config);
        try
        {
            await rig.InPodMountNamespaceAsync(["mount", "-t", "tmpfs", "-o", "size=64m,mode=0755", "tmpfs", MemoryDirectory], cancellationToken);
            rig._mounted = true;
            if (!await rig.IsTmpfsAsync(MemoryDirectory, cancellationToken))
            {
                throw new InvalidOperationException($"The tmpfs mounted at {MemoryDirectory} in the app pod is not in its /proc/APP/mountinfo.");
            }

            return rig;
        }
        catch
        {
            await rig.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The pod path as the direct client reaches it from the host: <c>/proc/APP/root/PATH</c>,
    /// the container's root as the kernel sees it (where the agent's calls land too).
    /// </summary>
    public string OnHost(string podPath) => $"/proc/{Cluster.App.Pid.ToString(CultureInfo.InvariantCulture)}/root{podPath}";

    /// <summary>p9files run directly on the host.</summary>
    public async Task<ResultLine> DirectAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
        => ResultLine.Parse((await Runs.DirectAsync(Client, arguments, cancellationToken)).Stdout, "p9files (direct)");

    /// <summary>
    /// p9files run under doppel in fs mode write, or read when <paramref name="write"/> is false;
    /// with <paramref name="cacheInMemory"/>, doppel's TMPDIR (where it keeps its copies of pod
    /// files) is a tmpfs instead of this machine's /tmp.
    /// </summary>
    public Task<ResultLine> UnderDoppelAsync(bool write, IReadOnlyList<string> arguments, CancellationToken cancellationToken, bool cacheInMemory = false)
        => Cluster.UnderDoppelAsync(
            ExecOptions(write), [Client, .. arguments], cancellationToken, cacheInMemory ? new Dictionary<string, string?> { ["TMPDIR"] = _memoryTemp.FullName } : null);

    /// <summary>p9files started directly on the host, stdin open.</summary>
    public HostProcess StartDirect(IReadOnlyList<string> arguments) => HostProcess.Start([Client, .. arguments]);

    /// <summary>p9files started under doppel (fs mode write or read), stdin open.</summary>
    public IRunningProgram StartUnderDoppel(bool write, IReadOnlyList<string> arguments)
        => Cluster.StartUnderDoppel(ExecOptions(write), [Client, .. arguments]);

    /// <summary>How long one run may take.</summary>
    public static TimeSpan RunTimeout => s_runTimeout;

    /// <summary>Unmounts <see cref="MemoryDirectory"/> and removes the in-memory TMPDIR.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_memoryTemp.Exists)
        {
            _memoryTemp.Delete(recursive: true);
        }

        if (_mounted)
        {
            _mounted = false;
            await InPodMountNamespaceAsync(["umount", MemoryDirectory], CancellationToken.None);
        }
    }

    private IReadOnlyList<string> ExecOptions(bool write) => write ? ["-f", _writeConfig] : [];

    // A line of mountinfo: ID PARENT MAJOR:MINOR ROOT MOUNT-POINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER-OPTIONS.
    private async Task<bool> IsTmpfsAsync(string podPath, CancellationToken cancellationToken)
    {
        var lines = await File.ReadAllLinesAsync($"/proc/{Cluster.App.Pid.ToString(CultureInfo.InvariantCulture)}/mountinfo", cancellationToken);
        return lines.Select(l => l.Split(' ')).Any(f => f.Length > 4 && f[4] == podPath && f.SkipWhile(x => x != "-").Skip(1).FirstOrDefault() == "tmpfs");
    }

    // The container's own mount applets (busybox), run as root in its mount namespace.
    private Task InPodMountNamespaceAsync(IReadOnlyList<string> command, CancellationToken cancellationToken)
        => Runs.DirectAsync("nsenter", ["-t", Cluster.App.Pid.ToString(CultureInfo.InvariantCulture), "-m", "--", .. command], cancellationToken);
}
