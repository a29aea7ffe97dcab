using Doppel.Testing.Tests.Support;

namespace Doppel.Testing.Tests;

/// <summary>What the agent will read through /proc: a pod process's env, files, /etc and cgroup.</summary>
public sealed class PodContentsTests(ClusterFixture fixture) : IClassFixture<ClusterFixture>
{
    [Fact]
    public void ProcessPodServerEnvironHoldsExactlyThePodsEnv()
    {
        var env = Environ(fixture.Backend.Processes[0].Pid);

        Assert.Equal("hello", env["GREETING"]);
        Assert.Equal("postgres://db.default.svc.cluster.local/app", env["DATABASE_URL"]);
        Assert.Equal("backend", env["HOSTNAME"]);
        Assert.Equal(["DATABASE_URL", "GREETING", "HOME", "HOSTNAME", "PATH", "PWD"], env.Keys.Order());
    }

    [Fact]
    public void EveryServerOfAPodIsItsOwnProcessInThePodsNetns()
    {
        var processes = fixture.Backend.Processes;
        var namespaces = processes.Select(p => new FileInfo($"/proc/{p.Pid}/ns/net").LinkTarget).Distinct().ToList();

        Assert.Equal(["http-8080", "udp-echo-9090", "tcp-echo-7070"], processes.Select(p => p.Name));
        Assert.Equal(3, processes.Select(p => p.Pid).Distinct().Count());
        Assert.All(processes, p => Assert.StartsWith("python3", File.ReadAllText($"/proc/{p.Pid}/comm")));
        Assert.Single(namespaces);
        Assert.NotEqual(new FileInfo("/proc/self/ns/net").LinkTarget, namespaces[0]);
    }

    [Fact(Timeout = 20_000)]
    public async Task ProcessPodSeesItsOwnResolvConfHostsAndHostname()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var root = $"/proc/{fixture.Backend.Pid}/root";

        Assert.Contains($"nameserver {MiniCluster.DnsAddress}", File.ReadAllText($"{root}/etc/resolv.conf"));
        Assert.Contains("search default.svc.cluster.local svc.cluster.local cluster.local", File.ReadAllText($"{root}/etc/resolv.conf"));
        Assert.Contains($"{fixture.Backend.IP}\tbackend", File.ReadAllText($"{root}/etc/hosts"));
        Assert.Equal("backend\n", File.ReadAllText($"{root}/etc/hostname"));
        var uname = await fixture.Backend.ExecAsync(["uname", "-n"], timeout.Token);
        Assert.Equal("backend\n", uname.StandardOutput);
    }

    [Fact]
    public void ProcessPodFilesLiveUnderItsFilesRoot()
    {
        Assert.Equal("""{"backend":true}""", File.ReadAllText(fixture.Backend.HostPath("/app/config.json")));
        Assert.StartsWith(fixture.Cluster.WorkDirectory, fixture.Backend.FilesRoot);
    }

    [Fact]
    public void ContainerPodFileIsVisibleThroughProcRoot()
    {
        Assert.Equal("""{"store":true}""", File.ReadAllText($"/proc/{fixture.Store.Pid}/root/app/config.json"));
        Assert.Equal("store\n", File.ReadAllText($"/proc/{fixture.Store.Pid}/root/etc/hostname"));
        Assert.Contains("search payments.svc.cluster.local", File.ReadAllText($"/proc/{fixture.Store.Pid}/root/etc/resolv.conf"));
        Assert.False(File.Exists($"/proc/{fixture.Store.Pid}/root/usr/bin/python3"));
    }

    [Fact]
    public void ContainerPodEnvironHoldsThePodsEnv()
    {
        var env = Environ(fixture.Store.Pid);

        Assert.Equal("container", env["STORE_MODE"]);
        Assert.Equal("store", env["HOSTNAME"]);
        Assert.Equal("httpd", File.ReadAllText($"/proc/{fixture.Store.Pid}/comm").Trim());
    }

    [Fact]
    public void ContainerIsFoundByScanningProcCgroupForItsId()
    {
        var id = fixture.Store.ContainerId!;
        var cgroup = File.ReadAllLines($"/proc/{fixture.Store.Pid}/cgroup");

        Assert.Matches("^[0-9a-f]{64}$", id);
        Assert.All(cgroup, line => Assert.EndsWith("/" + id, line));
        Assert.Contains("0::/" + id, cgroup);
        Assert.Equal(fixture.Store.Processes.Select(p => p.Pid).Order(), Leftovers.ProcessesInCgroup(id).Order());
    }

    [Fact(Timeout = 20_000)]
    public async Task ContainerExecRunsInsideTheContainer()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var result = await fixture.Store.ExecAsync(["sh", "-c", "cat /app/config.json; echo; hostname; echo $STORE_MODE; test -e /usr/bin/python3 && echo host-root || echo own-root"], timeout.Token);

        Assert.Equal("{\"store\":true}\nstore\ncontainer\nown-root\n", result.EnsureSuccess("runc exec").StandardOutput);
    }

    private static Dictionary<string, string> Environ(int pid)
        => File.ReadAllText($"/proc/{pid}/environ")
            .Split('\0', StringSplitOptions.RemoveEmptyEntries)
            .Select(v => v.Split('=', 2))
            .ToDictionary(kv => kv[0], kv => kv[1]);
}
