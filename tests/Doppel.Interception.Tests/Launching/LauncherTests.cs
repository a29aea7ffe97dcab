using Doppel.Interception.Tests.Support;

namespace Doppel.Interception.Tests.Launching;

public sealed class LauncherTests
{
    private static readonly TestPolicy Policy = new();
    private static readonly DirectoryRemote Remote = new("/nonexistent-remote-root");

    [Fact]
    public async Task ExitCodeOfTheProgramIsPassedThrough()
    {
        var result = await Run.IsolatedAsync(Run.Options("sh", "-c", "echo out; echo err >&2; exit 7"), Policy, Remote);

        Assert.Equal(7, result.ExitCode);
        Assert.Equal("out\n", result.Stdout);
        Assert.Equal("err\n", result.Stderr);
    }

    [Fact]
    public async Task ProgramKilledBySignalGives128PlusTheSignal()
    {
        var result = await Run.IsolatedAsync(Run.Options("sh", "-c", "kill -TERM $$; sleep 5"), Policy, Remote);

        Assert.Equal(128 + 15, result.ExitCode);
    }

    [Fact]
    public async Task MissingProgramGivesCommandNotFoundAnd127()
    {
        var result = await Run.IsolatedAsync(Run.Options("doppel-no-such-command-xyz"), Policy, Remote);

        Assert.Equal(127, result.ExitCode);
        Assert.Equal("doppel: doppel-no-such-command-xyz: command not found\n", result.Stderr);
    }

    [Fact]
    public async Task MissingPathGivesNoSuchFileAnd127()
    {
        var result = await Run.IsolatedAsync(Run.Options("/nonexistent/doppel-prog"), Policy, Remote);

        Assert.Equal(127, result.ExitCode);
        Assert.Equal("doppel: /nonexistent/doppel-prog: No such file or directory\n", result.Stderr);
    }

    [Theory]
    [InlineData("#!/bin/sh\n")]
    [InlineData("")]
    public async Task NonExecutableFileGivesPermissionDeniedAnd126(string firstLine)
    {
        var file = Path.Combine(Path.GetTempPath(), $"doppel-noexec-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(file, firstLine + "echo hi\n");
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        try
        {
            var result = await Run.IsolatedAsync(Run.Options(file), Policy, Remote);

            Assert.Equal(126, result.ExitCode);
            Assert.Equal($"doppel: {file}: Permission denied\n", result.Stderr);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task ExecutableScriptWithoutShebangLineRunsUnderBinSh()
    {
        var file = Path.Combine(Path.GetTempPath(), $"doppel-noshebang-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(file, "echo \"no shebang: $# $1|$2\"\n[ \"$0\" = \"" + file + "\" ] && echo \"named as itself\"\n");
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            var result = await Run.IsolatedAsync(Run.Options(file, "a b", "c"), Policy, Remote);

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal("no shebang: 2 a b|c\nnamed as itself\n", result.Stdout);
            Assert.Equal("", result.Stderr);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task ProgramIsFoundInThePathOfItsOwnEnvironment()
    {
        var directory = Directory.CreateTempSubdirectory("doppel-path-");
        var script = Path.Combine(directory.FullName, "doppel-test-tool");
        await File.WriteAllTextAsync(script, "#!/bin/sh\necho found \"$@\"\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.UserWrite);
        try
        {
            var environment = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
                .ToDictionary(e => (string)e.Key, e => (string)e.Value!);
            environment["PATH"] = directory.FullName + ":/usr/bin:/bin";
            var options = Run.Options("doppel-test-tool", "a b") with { Environment = environment };

            var result = await Run.IsolatedAsync(options, Policy, Remote);

            Assert.Equal(0, result.ExitCode);
            Assert.Equal("found a b\n", result.Stdout);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task ProgramStartsWithSigpipeAtItsDefault()
    {
        // .NET ignores SIGPIPE; an ignored disposition would survive execve into the program.
        var result = await Run.IsolatedAsync(Run.Options("sh", "-c", "grep SigIgn /proc/self/status"), Policy, Remote);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("SigIgn:\t0000000000000000\n", result.Stdout);
    }

    [Fact]
    public async Task ProgramRunsWithNoNewPrivsAndUnderAFilter()
    {
        var result = await Run.IsolatedAsync(Run.Options("sh", "-c", "grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status"), Policy, Remote);

        Assert.Equal("NoNewPrivs:\t1\nSeccomp:\t2\n", result.Stdout);
    }

    [Fact]
    public async Task SignalReachesTheProgram()
    {
        var result = await Run.IsolatedAsync(
            Run.Options("sh", "-c", "echo ready; exec sleep 30"),
            Policy,
            Remote,
            whileRunning: async process =>
            {
                await Proc.WaitUntilRunningAsync(process.ProcessId, "sleep", Run.Timeout);
                process.Signal(2);
            });

        Assert.Equal(128 + 2, result.ExitCode);
    }

    [Fact]
    public async Task ProgramGetsTheOpenFilesLimitItWasGivenNotTheOneDotnetRaised()
    {
        var options = Run.Options("sh", "-c", "ulimit -Sn") with { OpenFilesLimit = 321 };

        var result = await Run.IsolatedAsync(options, Policy, Remote);

        Assert.Equal("321\n", result.Stdout);
    }

    [Fact]
    public void ParentOpenFilesLimitIsReadFromProc()
    {
        var limit = InterceptionOptions.ParentOpenFilesLimit();

        Assert.NotNull(limit);
        Assert.InRange(limit.Value, 1UL, 1UL << 40);
    }

    [Fact]
    public async Task ProgramInheritsNoFdsFromTheLauncherOrTheSupervisor()
    {
        const string Script = "import os; print(sorted(os.listdir('/proc/self/fd')))";

        // Whatever this test process leaks to every child (its runner's fds) is not doppel's.
        using var direct = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("python3") { ArgumentList = { "-c", Script }, RedirectStandardOutput = true })!;
        var expected = await direct.StandardOutput.ReadToEndAsync();
        await direct.WaitForExitAsync();

        var result = await Run.IsolatedAsync(Run.Options("python3", "-c", Script), Policy, Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(expected, result.Stdout);
    }
}
