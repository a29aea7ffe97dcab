using Doppel.Cli.Tests.Support;

namespace Doppel.Cli.Tests.Binary;

/// <summary>
/// Input a user can get wrong, through the shipped executables: each is one clear sentence with a
/// documented exit code (docs/cli.md), and nothing runs.
/// </summary>
public sealed class BadInputTests
{
    private static readonly Dictionary<string, string> s_none = [];

    public static TheoryData<string> Binaries => DoppelBinaries.All;

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task ATargetOf100000CharactersIsShownShortened(string binary)
    {
        using var dir = new TempDir();

        var (code, _, stderr) = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "exec", "-t", new string('a', 100_000), "--", "true");

        Assert.Equal(ExitCodes.ConfigError, code);
        Assert.Contains("… (100000 characters)' is not a target; use targetless, pod/NAME", stderr, StringComparison.Ordinal);
        Assert.True(stderr.Length < 1000, stderr[..Math.Min(stderr.Length, 2000)]);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task AProgramNameOf100000CharactersIsACommandLineError(string binary)
    {
        using var dir = new TempDir();

        var (code, _, stderr) = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "exec", "-t", "targetless", "--", new string('a', 100_000));

        Assert.Equal(ExitCodes.ConfigError, code);
        Assert.Equal("error: the program name is 100000 characters long, more than a Linux path may hold (4095 bytes), so nothing was run; check the command line.\n", stderr);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task ACwdThatIsNoLocalDirectoryWithoutATargetIsACommandLineError(string binary)
    {
        using var dir = new TempDir();

        var (code, stdout, stderr) = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "exec", "-C", "/doppel-nowhere", "--", "pwd");

        Assert.Equal(ExitCodes.ConfigError, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Equal("error: --cwd names '/doppel-nowhere', which is not a directory on this machine, and without a target there is no pod to look in; 'pwd' was not started.\n", stderr);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task AnEmptyCwdOrOneNamingALocalFileIsOneSentence(string binary)
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "notes.txt"), "x");

        var (emptyCode, _, emptyError) = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "exec", "-C", "", "--", "pwd");
        var (fileCode, fileOut, fileError) = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "exec", "-C", "notes.txt", "--", "pwd");

        Assert.Equal(ExitCodes.ConfigError, emptyCode);
        Assert.Equal("error: --cwd is empty; give the directory the program should start in, or leave --cwd out; 'pwd' was not started.\n", emptyError);
        Assert.Equal(ExitCodes.ConfigError, fileCode);
        Assert.Equal(string.Empty, fileOut);
        Assert.Equal($"error: --cwd names '{Path.Combine(dir.Path, "notes.txt")}', which is a file on this machine, not a directory; 'pwd' was not started.\n", fileError);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task ACwdThatIsALocalDirectoryIsWhereTheProgramStarts(string binary)
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(Path.Combine(dir.Path, "sub"));

        var (code, stdout, stderr) = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "exec", "--cwd", "sub", "--", "pwd");

        Assert.True(code == 0, stderr);
        Assert.Equal(Path.Combine(dir.Path, "sub") + "\n", stdout);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task AnEmptyConfigFilePathIsAnError(string binary)
    {
        using var dir = new TempDir();

        var (code, _, stderr) = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "exec", "-f", "", "--", "true");

        Assert.Equal(ExitCodes.ConfigError, code);
        Assert.Equal("error: the configuration file is given as an empty path; give the path of a .json, .toml or .yaml file, or leave -f out; 'true' was not started.\n", stderr);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task AnEmptyJsonConfigFileIsRejectedAsMirrordRejectsIt(string binary)
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "empty.json"), "\n");
        var marker = Path.Combine(dir.Path, "ran");

        var exec = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "exec", "-f", "empty.json", "--", "touch", marker);
        var verify = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "verify-config", "empty.json");

        Assert.Equal(ExitCodes.ConfigError, exec.ExitCode);
        Assert.StartsWith("error: empty.json:1:1: the configuration file holds no JSON object (it is empty); write {} for the defaults, or leave -f out; 'touch' was not started.", exec.StdErr, StringComparison.Ordinal);
        Assert.False(File.Exists(marker));
        Assert.Equal(ExitCodes.ConfigError, verify.ExitCode);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task AnEnvFileThatIsADirectoryIsOneSentence(string binary)
    {
        using var dir = new TempDir();

        var (code, _, stderr) = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "exec", "-t", "targetless", "--env-file", dir.Path, "--", "true");

        Assert.Equal(ExitCodes.ConfigError, code);
        Assert.Equal($"error: the env file {dir.Path} is a directory; give the path of a file of NAME=value lines. 'true' was not started.\n", stderr);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task AUtf16EnvFileIsAskedToBeSavedAsUtf8(string binary)
    {
        using var dir = new TempDir();
        var file = Path.Combine(dir.Path, "dev.env");
        File.WriteAllBytes(file, [0xFF, 0xFE, .. System.Text.Encoding.Unicode.GetBytes("A=1\n")]);

        var (code, _, stderr) = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "exec", "-t", "targetless", "--env-file", file, "--", "true");

        Assert.Equal(ExitCodes.ConfigError, code);
        Assert.Equal($"error: the env file {file} is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8. 'true' was not started.\n", stderr);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task AConfigFileThatIsNotUtf8IsAskedToBeSavedAsUtf8(string binary)
    {
        using var dir = new TempDir();
        File.WriteAllBytes(Path.Combine(dir.Path, "utf16.json"), [0xFF, 0xFE, .. System.Text.Encoding.Unicode.GetBytes("{}")]);
        File.WriteAllBytes(Path.Combine(dir.Path, "latin1.json"), [.. "{\"key\": \"caf"u8, 0xE9, .. "\"}"u8]);

        var utf16 = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "verify-config", "utf16.json");
        var latin1 = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "exec", "-f", "latin1.json", "--", "true");

        Assert.Equal(ExitCodes.ConfigError, utf16.ExitCode);
        Assert.Equal("error: utf16.json: the configuration file is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8.\n", utf16.StdErr);
        Assert.Equal(ExitCodes.ConfigError, latin1.ExitCode);
        Assert.Equal("error: latin1.json: the configuration file is not UTF-8 text; save it as UTF-8; 'true' was not started.\n", latin1.StdErr);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task AConfigFileThatIsANamedPipeIsRefusedWithoutReadingIt(string binary)
    {
        using var dir = new TempDir();
        var fifo = Path.Combine(dir.Path, "fifo.json");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", fifo))
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        var (code, _, stderr) = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "verify-config", "fifo.json");

        Assert.Equal(ExitCodes.ConfigError, code);
        Assert.Equal("error: fifo.json: the configuration file is not a regular file (a named pipe, socket or device); give the path of a .json, .toml or .yaml file.\n", stderr);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task ExecWithoutAProgramSaysWhatIsMissing(string binary)
    {
        using var dir = new TempDir();

        var bare = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "exec");
        var withTarget = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "exec", "-t", "targetless", "--");

        foreach (var (code, _, stderr) in new[] { bare, withTarget })
        {
            Assert.Equal(ExitCodes.ConfigError, code);
            Assert.Equal("error: doppel exec needs the program to run: doppel exec [OPTIONS] [--] PROGRAM [ARGS...].\nRun 'doppel exec --help' to see the usage.\n", stderr);
        }
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task AnUnknownDoppelLogLevelIsWarnedAboutWithTheValidOnes(string binary)
    {
        using var dir = new TempDir();
        var bogus = new Dictionary<string, string> { ["DOPPEL_LOG"] = "bogus" };
        var valid = new Dictionary<string, string> { ["DOPPEL_LOG"] = "warn,doppel=debug" };

        var warned = await DoppelBinaries.RunAsync(binary, dir.Path, bogus, "exec", "--", "true");
        var quiet = await DoppelBinaries.RunAsync(binary, dir.Path, valid, "exec", "--", "true");

        Assert.Equal(0, warned.ExitCode);
        Assert.Contains("warning: DOPPEL_LOG: 'bogus' is not a log level, so it is ignored; use trace, debug, info, warn, error or off (or TARGET=LEVEL).\n", warned.StdErr, StringComparison.Ordinal);
        Assert.Equal(0, quiet.ExitCode);
        Assert.DoesNotContain("DOPPEL_LOG", quiet.StdErr, StringComparison.Ordinal);
    }
}
