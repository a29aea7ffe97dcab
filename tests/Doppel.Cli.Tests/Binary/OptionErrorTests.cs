using Doppel.Cli.Tests.Support;

namespace Doppel.Cli.Tests.Binary;

/// <summary>
/// Command-line mistakes with typed options, through the shipped executables: one sentence naming the
/// option as typed, without .NET type names or indented lists, exit 2 (docs/cli.md), nothing run.
/// </summary>
public sealed class OptionErrorTests
{
    private static readonly Dictionary<string, string> s_none = [];

    public static TheoryData<string> Binaries => DoppelBinaries.All;

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task ASecondsOptionThatIsNotAWholeNumberIsOneSentence(string binary)
    {
        using var dir = new TempDir();

        foreach (var (option, value) in new[] { ("--agent-ttl", "abc"), ("--agent-startup-timeout", "1.5") })
        {
            var (code, _, stderr) = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "exec", option, value, "true");

            Assert.Equal(ExitCodes.ConfigError, code);
            Assert.Equal($"error: {option} takes a whole number of seconds, not '{value}'.\nRun 'doppel exec --help' to see the usage.\n", stderr);
        }
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task AnUnknownFsModeNamesTheValidOnesAndTheNearest(string binary)
    {
        using var dir = new TempDir();

        var typo = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "exec", "--fs-mode", "wirte", "true");
        var far = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "exec", "--fs-mode", "zzzzzzzz", "true");

        Assert.Equal(ExitCodes.ConfigError, typo.ExitCode);
        Assert.Equal("error: --fs-mode takes read, write, local or local-with-overrides, not 'wirte' (did you mean 'write'?).\nRun 'doppel exec --help' to see the usage.\n", typo.StdErr);
        Assert.Equal("error: --fs-mode takes read, write, local or local-with-overrides, not 'zzzzzzzz'.\nRun 'doppel exec --help' to see the usage.\n", far.StdErr);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task AnOptionWithoutItsValueIsNamed(string binary)
    {
        using var dir = new TempDir();

        var bare = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "exec", "-t");
        var beforeDashes = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "exec", "-t", "--", "true");

        foreach (var (code, _, stderr) in new[] { bare, beforeDashes })
        {
            Assert.Equal(ExitCodes.ConfigError, code);
            Assert.StartsWith("error: -t needs a value (Target: pod/NAME", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("needs the program", stderr, StringComparison.Ordinal);
            Assert.Equal(2, stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        }
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task AnUnknownOptionOfVerifyConfigIsNamed(string binary)
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "key.json"), "{}");

        var withPath = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "verify-config", "--bogus", "key.json");
        var alone = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "verify-config", "--bogus");
        var help = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "verify-config", "--help");

        foreach (var (code, _, stderr) in new[] { withPath, alone })
        {
            Assert.Equal(ExitCodes.ConfigError, code);
            Assert.Equal("error: '--bogus' is not an option of doppel verify-config.\nRun 'doppel verify-config --help' to see the usage.\n", stderr);
        }

        Assert.Equal(0, help.ExitCode);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task AnUnsupportedOutputFormatOrTargetTypeNamesTheAcceptedValues(string binary)
    {
        using var dir = new TempDir();

        var status = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "status", "-o", "yaml");
        var statusTypo = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "status", "--output=jsn");
        var ls = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "ls", "-o", "yaml");
        var kind = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "ls", "-t", "pod", "-t", "pods");

        Assert.Equal((ExitCodes.ConfigError, "error: -o takes text or json, not 'yaml'.\nRun 'doppel status --help' to see the usage.\n"), (status.ExitCode, status.StdErr));
        Assert.Equal((ExitCodes.ConfigError, "error: --output takes text or json, not 'jsn' (did you mean 'json'?).\nRun 'doppel status --help' to see the usage.\n"), (statusTypo.ExitCode, statusTypo.StdErr));
        Assert.Equal((ExitCodes.ConfigError, "error: -o takes text or json, not 'yaml'.\nRun 'doppel ls --help' to see the usage.\n"), (ls.ExitCode, ls.StdErr));
        Assert.Equal(
            (ExitCodes.ConfigError, "error: -t takes pod, deployment, rollout, job, cronjob, statefulset, service or replicaset, not 'pods' (did you mean 'pod'?).\nRun 'doppel ls --help' to see the usage.\n"),
            (kind.ExitCode, kind.StdErr));
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task AMissingOrUnknownCommandAStrayWordAndAMissingArgumentAreOneSentenceEach(string binary)
    {
        using var dir = new TempDir();
        const string Commands = "exec, verify-config, schema, ls, status or port-forward";

        var cases = new (string[] Args, string Expected)[]
        {
            ([], $"error: doppel needs a command: {Commands}.\nRun 'doppel --help' to see the usage.\n"),
            (["stauts"], $"error: 'stauts' is not a doppel command; use {Commands}.\nRun 'doppel --help' to see the usage.\n"),
            (["--bogus"], $"error: '--bogus' is not an option of doppel; give a command first: {Commands}.\nRun 'doppel --help' to see the usage.\n"),
            (["status", "extra"], "error: 'extra' is not an option or argument of doppel status.\nRun 'doppel status --help' to see the usage.\n"),
            (["schema", "extra"], "error: 'extra' is not an option or argument of doppel schema.\nRun 'doppel schema --help' to see the usage.\n"),
            (["verify-config", "a.json", "b.json"], "error: 'b.json' is not an option or argument of doppel verify-config.\nRun 'doppel verify-config --help' to see the usage.\n"),
            (["verify-config"], "error: doppel verify-config needs its PATH argument (The configuration file (.json, .jsonc, .toml, .yaml, .yml)).\nRun 'doppel verify-config --help' to see the usage.\n"),
        };
        foreach (var (args, expected) in cases)
        {
            var (code, stdout, stderr) = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, args);

            Assert.True(code == ExitCodes.ConfigError, $"doppel {string.Join(' ', args)}: exit {code}: {stderr}");
            Assert.Equal(string.Empty, stdout);
            Assert.Equal(expected, stderr);
        }
    }
}
