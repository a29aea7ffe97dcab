using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Doppel.Testing.Internal;

/// <summary>
/// One runc container of a container pod: a bundle (busybox rootfs + config.json) whose network
/// namespace is the pod's netns and whose /etc/resolv.conf, hosts and hostname are bind mounts
/// of the pod's /etc/netns files, as a kubelet does. runc keeps its state under the cluster's
/// own <c>--root</c>, so nothing of it outlives the cluster directory.
/// </summary>
/// <remarks>
/// Cgroups on these machines (hybrid v1 + v2, no cgroupsPath in the spec): runc puts the
/// container in <c>/ID</c> of every hierarchy (<c>/proc/PID/cgroup</c> lines such as
/// <c>8:pids:/ID</c> and <c>0::/ID</c>), except the memory controller, which nests it under the
/// caller's memory cgroup (<c>4:memory:/CALLER/ID</c>). Either way the line ends in <c>/ID</c>.
/// </remarks>
internal sealed class RuncContainer
{
    // runc's own errors and the container's stdio go to the log file; stdin is /dev/null.
    private const string ExecLogged = "exec \"$@\" </dev/null >>\"$0\" 2>&1";

    private readonly string _runcRoot;
    private readonly string _bundle;
    private readonly string _podName;
    private readonly string _networkNamespacePath;
    private readonly string _etcDirectory;
    private readonly IReadOnlyDictionary<string, string> _env;

    private RuncContainer(string runcRoot, string bundle, string podName, string networkNamespacePath, string etcDirectory, IReadOnlyDictionary<string, string> env)
    {
        Id = Names.NewContainerId();
        _runcRoot = runcRoot;
        _bundle = bundle;
        _podName = podName;
        _networkNamespacePath = networkNamespacePath;
        _etcDirectory = etcDirectory;
        _env = env;
    }

    public string Id { get; }

    public string RootFs => Path.Join(_bundle, "rootfs");

    public static async Task<RuncContainer> CreateBundleAsync(string runcRoot, string bundle, string podName, string networkNamespacePath,
        string etcDirectory, IReadOnlyDictionary<string, string> env, CancellationToken cancellationToken)
    {
        var container = new RuncContainer(runcRoot, bundle, podName, networkNamespacePath, etcDirectory, env);
        Directory.CreateDirectory(bundle);
        await BusyboxRootfs.CreateAsync(container.RootFs, cancellationToken);
        await Commands.CheckedAsync(cancellationToken, "runc", "spec", "--bundle", bundle);
        return container;
    }

    /// <summary>
    /// Writes the spec with <paramref name="command"/> as the main process and starts the
    /// container. Returns the main process's PID and the `runc run` that stays its parent.
    /// </summary>
    public async Task<(int Pid, Process Runc)> RunAsync(IReadOnlyList<string> command, string log, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var configPath = Path.Join(_bundle, "config.json");
        var config = JsonNode.Parse(await File.ReadAllTextAsync(configPath, cancellationToken))!;
        Configure(config, command);
        await File.WriteAllTextAsync(configPath, config.ToJsonString(), cancellationToken);

        var pidFile = Path.Join(_bundle, "init.pid");
        return await StartAsync(["runc", "--root", _runcRoot, "run", "--bundle", _bundle, "--pid-file", pidFile, Id], pidFile, log, timeout, cancellationToken);
    }

    /// <summary>Starts one more process in the running container (with the container's env): its PID and the `runc exec` that stays its parent.</summary>
    public Task<(int Pid, Process Runc)> ExecAsync(IReadOnlyList<string> command, string log, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var pidFile = Path.Join(_bundle, $"exec-{Guid.NewGuid():N}.pid");
        return StartAsync(["runc", "--root", _runcRoot, "exec", "--pid-file", pidFile, Id, .. command], pidFile, log, timeout, cancellationToken);
    }

    public Task<ExecResult> ExecToEndAsync(IReadOnlyList<string> command, CancellationToken cancellationToken)
        => Commands.RunAsync(["runc", "--root", _runcRoot, "exec", Id, .. command], environment: null, cancellationToken);

    /// <summary>SIGKILL to the main process: the container's PID namespace and every process in it die with it.</summary>
    public async Task KillAsync(CancellationToken cancellationToken)
    {
        // Fails when the container never started or has stopped already: DeleteAsync settles it.
        await Commands.RunAsync(["runc", "--root", _runcRoot, "kill", Id, "KILL"], environment: null, cancellationToken);
    }

    /// <summary>
    /// Removes the container and its cgroups; a container that never started is fine. After
    /// <see cref="KillAsync"/> this takes milliseconds (a plain `delete --force` polls for over a second).
    /// </summary>
    public async Task DeleteAsync(CancellationToken cancellationToken)
    {
        var result = await Commands.RunAsync(["runc", "--root", _runcRoot, "delete", "--force", Id], environment: null, cancellationToken);
        if (!result.Succeeded && !result.StandardError.Contains("does not exist", StringComparison.Ordinal))
        {
            result.EnsureSuccess($"runc delete --force {Id}");
        }
    }

    private void Configure(JsonNode config, IReadOnlyList<string> command)
    {
        config["root"] = new JsonObject { ["path"] = "rootfs", ["readonly"] = false };
        config["hostname"] = _podName;

        var process = config["process"]!;
        process["terminal"] = false;
        process["cwd"] = "/";
        process["args"] = new JsonArray([.. command.Select(a => (JsonNode)a)]);
        process["env"] = new JsonArray([.. _env.Select(e => (JsonNode)$"{e.Key}={e.Value}")]);

        foreach (var ns in config["linux"]!["namespaces"]!.AsArray())
        {
            if ((string?)ns!["type"] == "network")
            {
                ns["path"] = _networkNamespacePath;
            }
        }

        var mounts = config["mounts"]!.AsArray();
        foreach (var file in new[] { "resolv.conf", "hosts", "hostname" })
        {
            mounts.Add(new JsonObject
            {
                ["destination"] = $"/etc/{file}",
                ["type"] = "bind",
                ["source"] = Path.Join(_etcDirectory, file),
                ["options"] = new JsonArray("rbind", "rprivate", "rw"),
            });
        }
    }

    // runc in the foreground, as our child, stays the parent of the container process and reaps
    // it (a detached one would leave that to the host's init, which on these machines takes
    // over a second, and a dying container's PID namespace waits for it).
    private static async Task<(int Pid, Process Runc)> StartAsync(IReadOnlyList<string> command, string pidFile, string log, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var runc = Commands.Start(["/bin/sh", "-c", ExecLogged, log, .. command], environment: null);
        var deadline = DateTime.UtcNow + timeout;
        while (!File.Exists(pidFile))
        {
            if (runc.HasExited || DateTime.UtcNow > deadline || cancellationToken.IsCancellationRequested)
            {
                Commands.Kill(runc);
                await runc.WaitForExitAsync(CancellationToken.None);
                var output = File.Exists(log) ? await File.ReadAllTextAsync(log, CancellationToken.None) : "";
                cancellationToken.ThrowIfCancellationRequested();
                throw new MiniClusterException($"`{string.Join(' ', command)}` did not start the process (exit code {(runc.HasExited ? runc.ExitCode : -1)}): {output.Trim()}");
            }

            await Task.Delay(10, CancellationToken.None);
        }

        return (ReadPid(pidFile), runc);
    }

    private static int ReadPid(string pidFile) => int.Parse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture);
}
