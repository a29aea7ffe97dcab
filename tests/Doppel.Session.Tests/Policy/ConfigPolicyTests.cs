using System.Net;
using Doppel.Config;
using Doppel.Interception.Policy;
using Doppel.Session.Policy;

namespace Doppel.Session.Tests.Policy;

public sealed class ConfigPolicyTests
{
    private const string Cwd = "/home/dev/project";
    private const string Home = "/home/dev";

    private static ConfigPolicy PolicyFor(string json, bool targetless = false, IReadOnlyDictionary<string, IReadOnlySet<IPAddress>>? names = null, string cwd = Cwd)
    {
        var dir = Directory.CreateTempSubdirectory("doppel-policy-");
        try
        {
            var file = Path.Combine(dir.FullName, "mirrord.json");
            File.WriteAllText(file, json);
            var config = ConfigLoader.Load(new ConfigLoadOptions { ConfigFile = file, Environment = _ => null, WorkingDirectory = dir.FullName }).Config;
            return new ConfigPolicy(config, cwd, "/usr/local/bin/myapp", Home, targetless, names);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static IPEndPoint At(string address, int port) => new(IPAddress.Parse(address), port);

    [Theory]
    [InlineData("/app/config.json", FileIntent.Read, InterceptionDecision.Remote)]
    [InlineData("/app/config.json", FileIntent.Write, InterceptionDecision.ReadOnly)]
    [InlineData("/etc/resolv.conf", FileIntent.Read, InterceptionDecision.Remote)]
    [InlineData("/etc/hosts", FileIntent.Read, InterceptionDecision.Remote)]
    [InlineData("/etc/ssl/certs/ca.pem", FileIntent.Read, InterceptionDecision.Remote)]
    [InlineData("/etc/passwd", FileIntent.Read, InterceptionDecision.Local)]
    [InlineData("/usr/lib/x86_64-linux-gnu/libc.so.6", FileIntent.Read, InterceptionDecision.Local)]
    [InlineData("/proc/self/maps", FileIntent.Read, InterceptionDecision.Local)]
    [InlineData("/tmp/scratch", FileIntent.Write, InterceptionDecision.Local)]
    [InlineData("/srv/app/index.js", FileIntent.Read, InterceptionDecision.Local)]
    [InlineData("/srv/app/node_modules/x/y.json", FileIntent.Read, InterceptionDecision.Local)]
    [InlineData("/home/dev/project/src/main.go", FileIntent.Write, InterceptionDecision.Local)]
    [InlineData("/usr/local/bin/myapp", FileIntent.Read, InterceptionDecision.Local)]
    [InlineData("/home/dev/.kube/config", FileIntent.Read, InterceptionDecision.NotFound)]
    [InlineData("/home/dev/.config/gcloud/credentials.db", FileIntent.Read, InterceptionDecision.NotFound)]
    [InlineData("/home/dev/.aws/credentials", FileIntent.Read, InterceptionDecision.NotFound)]
    [InlineData("/home/dev/.azure", FileIntent.Read, InterceptionDecision.NotFound)]
    [InlineData("/root/.kube/config", FileIntent.Read, InterceptionDecision.Remote)]                       // another user's home: the pod's
    [InlineData("/srv/Doppel.Kubernetes.Tests/bin", FileIntent.Read, InterceptionDecision.Remote)]       // ".Kube" in a project name hides nothing
    [InlineData("/home/dev/project/my.kube-tools/run.sh", FileIntent.Read, InterceptionDecision.Local)]
    public void DefaultReadModeFollowsMirrordsDefaultRules(string path, FileIntent intent, InterceptionDecision expected)
    {
        Assert.Equal(expected, PolicyFor("{}").DecideFile(path, intent));
    }

    [Theory]
    [InlineData("/work", InterceptionDecision.Local)]            // above the working directory: bash's cd "$PWD" stats it
    [InlineData("/work/team", InterceptionDecision.Local)]
    [InlineData("/work/team/app", InterceptionDecision.Local)]    // the working directory itself
    [InlineData("/work/team/app/main.rb", InterceptionDecision.Local)]
    [InlineData("/work/other", InterceptionDecision.Remote)]       // beside the way: the pod's
    [InlineData("/work/tea", InterceptionDecision.Remote)]
    [InlineData("/work/team/config.yaml", InterceptionDecision.Remote)]
    [InlineData("/", InterceptionDecision.Remote)]
    public void TheDirectoriesAboveTheWorkingDirectoryAreLocalButNotTheirOtherFiles(string path, InterceptionDecision expected)
    {
        Assert.Equal(expected, PolicyFor("{}", cwd: "/work/team/app").DecideFile(path, FileIntent.Read));
    }

    [Fact]
    public void WriteModeSendsWritesToThePodButKeepsDefaultLocalPathsLocal()
    {
        var policy = PolicyFor("""{"feature": {"fs": "write"}}""");

        Assert.Equal(InterceptionDecision.Remote, policy.DecideFile("/var/log/app.log", FileIntent.Write));
        Assert.Equal(InterceptionDecision.Local, policy.DecideFile("/tmp/x", FileIntent.Write));
        Assert.Equal(InterceptionDecision.ReadOnly, policy.DecideFile("/etc/hosts", FileIntent.Write));
        Assert.True(policy.Families.HasFlag(SyscallFamilies.FilesWrite));
        Assert.True(policy.Families.HasFlag(SyscallFamilies.FilesWriteThrough)); // content goes to the pod at fsync/close
    }

    [Fact]
    public void ReadModeTrapsNameChangesSoTheyFailWithErofsInsteadOfActingLocally()
    {
        var policy = PolicyFor("{}");

        Assert.True(policy.Families.HasFlag(SyscallFamilies.FilesWrite));
        Assert.False(policy.Families.HasFlag(SyscallFamilies.FilesWriteThrough)); // nothing written: no content goes at close
        Assert.True(policy.Families.HasFlag(SyscallFamilies.FileLocks)); // a reader's locks are the pod's too (close releases them)
        Assert.Equal(InterceptionDecision.ReadOnly, policy.DecideFile("/app/new-dir", FileIntent.Write));
        Assert.Equal(InterceptionDecision.Local, policy.DecideFile("/tmp/new-dir", FileIntent.Write));
    }

    [Fact]
    public void UserListsComeBeforeTheDefaults()
    {
        var policy = PolicyFor("""
            {"feature": {"fs": {"mode": "read",
              "read_write": ["^/tmp/shared/"], "read_only": ["^/usr/share/app/"],
              "local": ["^/data/cache"], "not_found": ["^/etc/hosts$"]}}}
            """);

        Assert.Equal(InterceptionDecision.Remote, policy.DecideFile("/tmp/shared/a", FileIntent.Write));
        Assert.Equal(InterceptionDecision.Remote, policy.DecideFile("/usr/share/app/x", FileIntent.Read));
        Assert.Equal(InterceptionDecision.ReadOnly, policy.DecideFile("/usr/share/app/x", FileIntent.Write));
        Assert.Equal(InterceptionDecision.Local, policy.DecideFile("/data/cache/1", FileIntent.Read));
        Assert.Equal(InterceptionDecision.NotFound, policy.DecideFile("/etc/hosts", FileIntent.Read));
        Assert.True(policy.Families.HasFlag(SyscallFamilies.FilesWrite));
    }

    [Fact]
    public void RegexesAreCaseInsensitive()
    {
        Assert.Equal(InterceptionDecision.NotFound, PolicyFor("""{"feature": {"fs": {"not_found": ["^/SECRETS/"]}}}""").DecideFile("/secrets/key", FileIntent.Read));
    }

    [Fact]
    public void LocalWithOverridesIsLocalExceptTheLists()
    {
        var policy = PolicyFor("""{"feature": {"fs": {"mode": "localwithoverrides", "read_only": ["^/app/"]}}}""");

        Assert.Equal(InterceptionDecision.Remote, policy.DecideFile("/app/config.json", FileIntent.Read));
        Assert.Equal(InterceptionDecision.Local, policy.DecideFile("/var/lib/data", FileIntent.Read));
        Assert.Equal(InterceptionDecision.Local, policy.DecideFile("/etc/resolv.conf", FileIntent.Read));
    }

    [Fact]
    public void LocalModeTrapsNoFileSyscallsAndIgnoresTheLists()
    {
        var policy = PolicyFor("""{"feature": {"fs": {"mode": "local", "read_only": ["^/app/"]}}}""");

        Assert.Equal(SyscallFamilies.None, policy.Families & (SyscallFamilies.FilesRead | SyscallFamilies.FilesWrite | SyscallFamilies.FileLocks));
        Assert.Equal(InterceptionDecision.Local, policy.DecideFile("/app/config.json", FileIntent.Read));
    }

    [Fact]
    public void DefaultsTrapWhatTheDefaultFeaturesNeed()
    {
        Assert.Equal(
            SyscallFamilies.FilesRead | SyscallFamilies.FilesWrite | SyscallFamilies.FileLocks | SyscallFamilies.Outgoing | SyscallFamilies.OutgoingUdp | SyscallFamilies.Listen | SyscallFamilies.Accept | SyscallFamilies.Hostname,
            PolicyFor("{}").Families);
    }

    [Fact]
    public void EverythingOffTrapsNothing()
    {
        var policy = PolicyFor("""
            {"feature": {"fs": false, "hostname": false,
              "network": {"incoming": false, "outgoing": false, "dns": false}}}
            """);

        Assert.Equal(SyscallFamilies.None, policy.Families);
    }

    [Theory]
    [InlineData("{}", "tcp", "10.1.2.3", 5432, InterceptionDecision.Remote)]
    [InlineData("{}", "tcp", "127.0.0.1", 8080, InterceptionDecision.Remote)]
    [InlineData("""{"feature": {"network": {"outgoing": {"ignore_localhost": true}}}}""", "tcp", "127.0.0.1", 8080, InterceptionDecision.Local)]
    [InlineData("""{"feature": {"network": {"outgoing": {"tcp": false}}}}""", "tcp", "10.1.2.3", 80, InterceptionDecision.Local)]
    [InlineData("""{"feature": {"network": {"outgoing": {"tcp": false}}}}""", "udp", "10.1.2.3", 9000, InterceptionDecision.Remote)]
    [InlineData("""{"feature": {"network": {"outgoing": {"udp": false}}}}""", "udp", "10.96.0.10", 53, InterceptionDecision.Remote)]
    [InlineData("""{"feature": {"network": {"dns": false}}}""", "udp", "10.96.0.10", 53, InterceptionDecision.Local)]
    [InlineData("""{"feature": {"network": {"outgoing": {"filter": {"remote": ["169.254.169.254"]}}}}}""", "tcp", "169.254.169.254", 80, InterceptionDecision.Remote)]
    [InlineData("""{"feature": {"network": {"outgoing": {"filter": {"remote": ["169.254.169.254"]}}}}}""", "tcp", "10.1.2.3", 80, InterceptionDecision.Local)]
    [InlineData("""{"feature": {"network": {"outgoing": {"filter": {"local": ["tcp://10.0.0.0/8:5432"]}}}}}""", "tcp", "10.1.2.3", 5432, InterceptionDecision.Local)]
    [InlineData("""{"feature": {"network": {"outgoing": {"filter": {"local": ["tcp://10.0.0.0/8:5432"]}}}}}""", "tcp", "10.1.2.3", 5433, InterceptionDecision.Remote)]
    [InlineData("""{"feature": {"network": {"outgoing": {"filter": {"local": ["tcp://10.0.0.0/8:5432"]}}}}}""", "udp", "10.1.2.3", 5432, InterceptionDecision.Remote)]
    [InlineData("""{"feature": {"network": {"outgoing": {"filter": {"local": ["2001:db8::/32"]}}}}}""", "tcp", "2001:db8::7", 443, InterceptionDecision.Local)]
    [InlineData("""{"feature": {"network": {"dns": {"filter": {"remote": ["backend"]}}}}}""", "udp", "10.96.0.10", 53, InterceptionDecision.Remote)]
    public void OutgoingFollowsTcpUdpDnsAndTheFilter(string json, string transport, string address, int port, InterceptionDecision expected)
    {
        var decision = PolicyFor(json).DecideOutgoing(transport == "tcp" ? Transport.Tcp : Transport.Udp, At(address, port));

        Assert.Equal(expected, decision);
    }

    [Fact]
    public void SkippedProcessesIncludeBuildToolsUnlessTurnedOff()
    {
        Assert.Superset(new HashSet<string> { "bash", "go", "cargo" }, (HashSet<string>)PolicyFor("""{"skip_processes": "bash"}""").SkippedProcesses);
        Assert.Equal(["bash"], PolicyFor("""{"skip_processes": "bash", "skip_build_tools": false}""").SkippedProcesses);
    }

    [Fact]
    public void ListenPortsMoveTheAppsBind()
    {
        var policy = PolicyFor("""{"feature": {"network": {"incoming": {"listen_ports": [[80, 8080]]}}}}""");

        Assert.Equal(8080, policy.MapBindPort(Transport.Tcp, At("0.0.0.0", 80)));
        Assert.Equal(3000, policy.MapBindPort(Transport.Tcp, At("0.0.0.0", 3000)));
    }

    [Fact]
    public void TargetlessServesOnlyTheResolverFilesRemotely()
    {
        var policy = PolicyFor("{}", targetless: true);

        Assert.Equal(InterceptionDecision.Remote, policy.DecideFile("/etc/resolv.conf", FileIntent.Read));
        Assert.Equal(InterceptionDecision.Remote, policy.DecideFile("/etc/hosts", FileIntent.Read));
        Assert.Equal(InterceptionDecision.ReadOnly, policy.DecideFile("/etc/hosts", FileIntent.Write));
        Assert.Equal(InterceptionDecision.Local, policy.DecideFile("/app/config.json", FileIntent.Read));
        Assert.Equal(InterceptionDecision.Local, policy.DecideFile("/etc/hostname", FileIntent.Read));
        Assert.True(policy.Families.HasFlag(SyscallFamilies.FilesRead));
        Assert.False(policy.Families.HasFlag(SyscallFamilies.FilesWrite));
    }

    [Fact]
    public void TargetlessWithoutRemoteDnsTrapsNoFileCalls()
    {
        var policy = PolicyFor("""{"feature":{"network":{"dns":false}}}""", targetless: true);

        Assert.Equal(InterceptionDecision.Local, policy.DecideFile("/etc/resolv.conf", FileIntent.Read));
        Assert.False(policy.Families.HasFlag(SyscallFamilies.FilesRead));
    }

    [Fact]
    public void FilterNamesMatchTheAddressesTheyResolvedTo()
    {
        const string json = """{"feature":{"network":{"outgoing":{"filter":{"local":["backend.default.svc.cluster.local:8080","tcp://db"]}}}}}""";
        var names = new Dictionary<string, IReadOnlySet<IPAddress>>(StringComparer.OrdinalIgnoreCase)
        {
            ["backend.default.svc.cluster.local"] = new HashSet<IPAddress> { IPAddress.Parse("10.244.0.11") },
            ["db"] = new HashSet<IPAddress> { IPAddress.Parse("10.244.0.12") },
        };
        var policy = PolicyFor(json, names: names);

        Assert.Equal(InterceptionDecision.Local, policy.DecideOutgoing(Transport.Tcp, At("10.244.0.11", 8080)));
        Assert.Equal(InterceptionDecision.Remote, policy.DecideOutgoing(Transport.Tcp, At("10.244.0.11", 9090)));
        Assert.Equal(InterceptionDecision.Local, policy.DecideOutgoing(Transport.Tcp, At("::ffff:10.244.0.12", 5432)));
        Assert.Equal(InterceptionDecision.Remote, policy.DecideOutgoing(Transport.Udp, At("10.244.0.12", 5432)));
        Assert.Equal(InterceptionDecision.Remote, policy.DecideOutgoing(Transport.Tcp, At("10.244.0.13", 8080)));
    }

    [Fact]
    public void FilterNamesListsTheHostNamesOfBothFiltersWithTheSideThatResolvesThem()
    {
        var dir = Directory.CreateTempSubdirectory("doppel-policy-");
        try
        {
            var file = Path.Combine(dir.FullName, "mirrord.json");
            File.WriteAllText(file, """{"feature":{"network":{"outgoing":{"filter":{"remote":["api.example:443","10.0.0.0/8"]}},"dns":{"filter":{"local":["Corp.Internal"]}}}}}""");
            var config = ConfigLoader.Load(new ConfigLoadOptions { ConfigFile = file, Environment = _ => null, WorkingDirectory = dir.FullName }).Config;

            Assert.Equal(
                [
                    new FilterName("feature.network.outgoing.filter", "api.example:443", "api.example", ResolvedLocally: false),
                    new FilterName("feature.network.dns.filter", "Corp.Internal", "corp.internal", ResolvedLocally: true),
                ],
                ConfigPolicy.FilterNames(config));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void FsMappingRewritesPathsWithTheFirstMatchingPattern()
    {
        var policy = PolicyFor("""{"feature":{"fs":{"mapping":{"^/home/dev/project/config/(.*)$":"/app/config/$1","^/data":"relative"}}}}""");

        Assert.Equal("/app/config/settings.json", policy.MapPath("/home/dev/project/config/settings.json"));
        Assert.Equal(InterceptionDecision.Remote, policy.DecideFile(policy.MapPath("/home/dev/project/config/settings.json"), FileIntent.Read));
        Assert.Equal("/data/x", policy.MapPath("/data/x")); // not absolute after the rewrite: kept
        Assert.Equal("/srv/other", policy.MapPath("/srv/other"));
    }

    [Fact]
    public void AProgramAPodWorkingDirectoryKeptFromRunningIsOneWarningPerPathSayingWhatToDo()
    {
        var config = ConfigLoader.Load(new ConfigLoadOptions { Environment = _ => null, WorkingDirectory = Cwd }).Config;
        var warnings = new List<string>();
        var policy = new ConfigPolicy(config, Cwd, "/usr/local/bin/myapp", Home, warn: warnings.Add);

        policy.OnProgramNotRun("./start.sh", "/app/start.sh", inPod: true);
        policy.OnProgramNotRun("./start.sh", "/app/start.sh", inPod: true);
        policy.OnProgramNotRun("./prog", "/home/dev/other/prog", inPod: false);

        Assert.Equal(
            [
                "'./start.sh' was not run (No such file or directory): it is the pod's /app/start.sh, and doppel runs programs from this machine only, where a relative path from a pod directory would name another file; run a script with its interpreter (sh ./start.sh reads it from the pod), copy a program here and run it by its absolute path, or run it in the pod.",
                "'./prog' was not run (No such file or directory): it is /home/dev/other/prog on this machine, reached from a pod working directory, which the kernel would resolve against another directory; run it by its absolute path /home/dev/other/prog.",
            ],
            warnings);
    }

    [Fact]
    public void AProcessLeftAloneIsOneWarningPerProgramName()
    {
        var config = ConfigLoader.Load(new ConfigLoadOptions { Environment = _ => null, WorkingDirectory = Cwd }).Config;
        var warnings = new List<string>();
        var policy = new ConfigPolicy(config, Cwd, "/usr/local/bin/myapp", Home, warn: warnings.Add);

        policy.OnProcessSkipped("git");
        policy.OnProcessSkipped("git");
        policy.OnProcessSkipped("gcc");

        Assert.Equal([ConfigPolicy.ProcessSkipped("git"), ConfigPolicy.ProcessSkipped("gcc")], warnings);
        Assert.StartsWith("'git' runs as if doppel were not there (skip_build_tools or skip_processes): ", warnings[0], StringComparison.Ordinal);
    }
}
