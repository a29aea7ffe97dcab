using System.Text.Json.Nodes;
using Doppel.Cli.Tests.Support;

namespace Doppel.Cli.Tests.Binary;

/// <summary>The shipped executables, as a user runs them: exit codes, stdout/stderr split, no stack traces.</summary>
public sealed class DoppelBinaryTests
{
    public static TheoryData<string> Binaries => DoppelBinaries.All;

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task VerifiesEveryPublishedExample(string binary)
    {
        var env = new Dictionary<string, string> { ["USER"] = "dana" };

        // The multi-developer example steals, so it runs with a target (its README: doppel exec -t deployment/bff).
        var withTarget = new Dictionary<string, string>(env) { ["MIRRORD_IMPERSONATED_TARGET"] = "deployment/bff" };
        foreach (var example in Directory.GetFiles(RepoPaths.Examples))
        {
            var (code, stdout, stderr) = await DoppelBinaries.RunAsync(binary, RepoPaths.Examples, example.EndsWith("multi-developer.json", StringComparison.Ordinal) ? withTarget : env, "verify-config", "--resolved", example);

            Assert.True(code == 0, $"{Path.GetFileName(example)}: exit {code}: {stderr}");
            Assert.NotNull(JsonNode.Parse(stdout)!["resolved_config"]!["feature"]);
        }

        var multi = await DoppelBinaries.RunAsync(binary, RepoPaths.Examples, withTarget, "verify-config", "--resolved", "seed-multi-developer.json");
        Assert.Contains("\"header_filter\": \"^X-Dev-User: dana$\"", multi.StdOut, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task BrokenConfigurationExitsTwoWithoutAStackTrace(string binary)
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "mirrord.yaml"), "feature:\n  fs:\n    mode: 7\n");

        var (code, stdout, stderr) = await DoppelBinaries.RunAsync(binary, dir.Path, new Dictionary<string, string>(), "verify-config", "mirrord.yaml");

        Assert.Equal(ExitCodes.ConfigError, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Contains("mirrord.yaml:3:5: feature.fs.mode: expected a string, found the number 7.", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task DebugLogsGoToStderrWhenAskedForAndStdoutStaysJson(string binary)
    {
        var example = Path.Combine(RepoPaths.Examples, "seed-privileged-agent.json");
        var none = new Dictionary<string, string>();

        var quiet = await DoppelBinaries.RunAsync(binary, RepoPaths.Examples, none, "verify-config", example);
        var verbose = await DoppelBinaries.RunAsync(binary, RepoPaths.Examples, none, "verify-config", example, "-v");
        var doppelLog = await DoppelBinaries.RunAsync(binary, RepoPaths.Examples, new Dictionary<string, string> { ["DOPPEL_LOG"] = "debug" }, "verify-config", example);
        var rustLog = await DoppelBinaries.RunAsync(binary, RepoPaths.Examples, new Dictionary<string, string> { ["RUST_LOG"] = "warn,mirrord=debug" }, "verify-config", example);

        Assert.DoesNotContain("Configuration loaded from", quiet.StdErr, StringComparison.Ordinal);
        foreach (var run in new[] { verbose, doppelLog, rustLog })
        {
            Assert.Equal(0, run.ExitCode);
            Assert.Contains($"Configuration loaded from {example}", run.StdErr, StringComparison.Ordinal);
            Assert.NotNull(JsonNode.Parse(run.StdOut));
        }
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task SchemaVersionAndHelpWork(string binary)
    {
        var none = new Dictionary<string, string>();

        var schema = await DoppelBinaries.RunAsync(binary, RepoPaths.Root, none, "schema");
        var version = await DoppelBinaries.RunAsync(binary, RepoPaths.Root, none, "--version");
        var help = await DoppelBinaries.RunAsync(binary, RepoPaths.Root, none, "exec", "--help");

        Assert.Equal(File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "doppel-schema.json")), schema.StdOut);
        // One line, ended: a shell prompt after it starts on a line of its own.
        Assert.Matches(@"^\d+\.\d+\.\d+\S*\n\z", version.StdOut);
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("--no-remote-dns", help.StdOut, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(BinariesAndStandardDescriptors))]
    public async Task AClosedStandardDescriptorDoesNotAbortDoppel(string binary, int fd)
    {
        // The shell closes fd (0 or 2) and becomes doppel: doppel starts with it closed.
        var none = new Dictionary<string, string>();

        var (code, stdout, stderr) = await DoppelBinaries.RunAsync("sh", RepoPaths.Root, none, "-c", $"exec \"$0\" --version {fd}>&-", binary);

        Assert.True(code == 0, $"exit code {code} with fd {fd} closed\n{stderr}");
        Assert.Matches(@"^\d+\.\d+\.\d+", stdout);
    }

    public static TheoryData<string, int> BinariesAndStandardDescriptors()
    {
        var data = new TheoryData<string, int>();
        foreach (var binary in DoppelBinaries.All)
        {
            // Not fd 1: the JIT host's runtime opens a pipe of its own onto the lowest free fd before Main runs.
            foreach (var fd in new[] { 0, 2 })
            {
                data.Add(binary, fd);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task ExecWithoutAnAgentBinaryRunsNothingAndSaysWhy(string binary)
    {
        using var dir = new TempDir();
        var marker = Path.Combine(dir.Path, "ran");
        var environment = new Dictionary<string, string> { ["DOPPEL_AGENT_BINARY"] = Path.Combine(dir.Path, "no-such-agent") };

        var (code, _, stderr) = await DoppelBinaries.RunAsync(binary, dir.Path, environment, "exec", "-t", "targetless", "--", "touch", marker);

        Assert.Equal(ExitCodes.Unavailable, code);
        Assert.False(File.Exists(marker));
        Assert.Contains("doppel-agent was not found next to doppel nor at DOPPEL_AGENT_BINARY", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task ExecWithoutATargetRunsTheProgramAndPassesItsExitCodeThrough(string binary)
    {
        using var dir = new TempDir();
        var none = new Dictionary<string, string>();

        var exited = await DoppelBinaries.RunAsync(binary, dir.Path, none, "exec", "sh", "-c", "echo out; echo err >&2; exit 7");
        var killed = await DoppelBinaries.RunAsync(binary, dir.Path, none, "exec", "--", "sh", "-c", "kill -TERM $$");
        var missing = await DoppelBinaries.RunAsync(binary, dir.Path, none, "exec", "no-such-program-here");
        var created = await DoppelBinaries.RunAsync(binary, dir.Path, none, "exec", "touch", "made-by-child");

        Assert.Equal((7, "out\n"), (exited.ExitCode, exited.StdOut));
        Assert.Contains("err", exited.StdErr, StringComparison.Ordinal);
        Assert.Contains("no target given: 'sh' runs locally, with nothing redirected", exited.StdErr, StringComparison.Ordinal);
        Assert.Equal(128 + 15, killed.ExitCode);
        Assert.Equal(ExitCodes.CommandNotFound, missing.ExitCode);
        Assert.Contains("doppel: no-such-program-here: command not found", missing.StdErr, StringComparison.Ordinal);
        Assert.Equal(0, created.ExitCode);
        Assert.True(File.Exists(Path.Combine(dir.Path, "made-by-child")));
    }
}
