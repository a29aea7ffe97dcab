using Doppel.Cli.Tests.Support;

namespace Doppel.Cli.Tests.Binary;

/// <summary>
/// <c>exec</c> without a target, through the shipped executables: the env file is still read and checked
/// before anything starts, and what <c>feature.env</c> sets locally (env_file, override, unset) reaches the
/// program, as mirrord applies them targetless too.
/// </summary>
public sealed class NoTargetEnvTests
{
    public static TheoryData<string> Binaries => DoppelBinaries.All;

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task AMissingOrBrokenEnvFileStopsExecWithoutATargetAsWithOne(string binary)
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "bad.env"), "A=hello world\n");
        var marker = Path.Combine(dir.Path, "ran");
        var none = new Dictionary<string, string>();

        foreach (var envFile in new[] { Path.Combine(dir.Path, "nonexist"), "bad.env" })
        {
            var bare = await DoppelBinaries.RunAsync(binary, dir.Path, none, "exec", "--env-file", envFile, "--", "touch", marker);
            var targetless = await DoppelBinaries.RunAsync(binary, dir.Path, none, "exec", "-t", "targetless", "--env-file", envFile, "--", "touch", marker);

            Assert.Equal(ExitCodes.ConfigError, bare.ExitCode);
            Assert.StartsWith("error: ", bare.StdErr, StringComparison.Ordinal);
            Assert.EndsWith(" 'touch' was not started.\n", bare.StdErr, StringComparison.Ordinal);
            Assert.Equal(targetless.StdErr, bare.StdErr);
            Assert.False(File.Exists(marker));
        }

        var broken = await DoppelBinaries.RunAsync(binary, dir.Path, none, "exec", "--env-file", "bad.env", "--", "true");
        Assert.Contains("bad.env:1: the value has a blank in it", broken.StdErr, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task EnvFileOverrideAndUnsetReachTheProgramWithoutATarget(string binary)
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "dev.env"), "A=\"hello world\"\nB=from-file\n");
        File.WriteAllText(Path.Combine(dir.Path, "doppel.json"), """{"feature":{"env":{"override":{"B":"overridden"},"unset":["c"]}}}""");
        var env = new Dictionary<string, string> { ["C"] = "local" };

        var (code, stdout, _) = await DoppelBinaries.RunAsync(
            binary, dir.Path, env, "exec", "-f", "doppel.json", "--env-file", "dev.env", "--", "sh", "-c", "echo \"A=$A B=$B C=${C-unset}\"");

        Assert.Equal(0, code);
        Assert.Equal("A=hello world B=overridden C=unset\n", stdout);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task ALongTmpdirThatNoUnixSocketPathFitsUnderStillRunsTheProgram(string binary)
    {
        using var dir = new TempDir();

        // A CI runner's nested temp directory: $TMPDIR/doppel-PID-GUID.sock would pass sun_path's 107 bytes.
        var tmp = Path.Combine(dir.Path, new string('t', 60), new string('m', 40));
        Directory.CreateDirectory(tmp);
        var env = new Dictionary<string, string> { ["TMPDIR"] = tmp };

        var bare = await DoppelBinaries.RunAsync(binary, dir.Path, env, "exec", "--", "sh", "-c", "echo ran");
        var targetless = await DoppelBinaries.RunAsync(binary, dir.Path, env, "exec", "-t", "targetless", "--", "sh", "-c", "echo ran");

        Assert.True(bare.ExitCode == 0, bare.StdErr);
        Assert.Equal("ran\n", bare.StdOut);
        Assert.True(targetless.ExitCode == 0, targetless.StdErr);
        Assert.Equal("ran\n", targetless.StdOut);
    }
}
