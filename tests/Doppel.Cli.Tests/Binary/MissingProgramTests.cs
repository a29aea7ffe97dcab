using Doppel.Cli.Tests.Support;

namespace Doppel.Cli.Tests.Binary;

/// <summary>
/// <c>doppel exec</c> with a target and a program that cannot start: said before any agent work,
/// with the shell's line and exit code. DOPPEL_AGENT_BINARY names a file that does not exist, so
/// a run that got as far as the agent ends with exit 69 instead ("doppel-agent was not found").
/// </summary>
public sealed class MissingProgramTests
{
    public static TheoryData<string> Binaries => DoppelBinaries.All;

    private static Dictionary<string, string> NoAgent(TempDir dir) => new() { ["DOPPEL_AGENT_BINARY"] = Path.Combine(dir.Path, "no-such-agent") };

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task AProgramNotOnPathIsSaidBeforeAnyAgentWork(string binary)
    {
        using var dir = new TempDir();

        var (code, stdout, stderr) = await DoppelBinaries.RunAsync(binary, dir.Path, NoAgent(dir), "exec", "-t", "targetless", "--", "no-such-program-here", "--flag");

        Assert.Equal(ExitCodes.CommandNotFound, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Equal("doppel: no-such-program-here: command not found\n", stderr);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task AMissingPathOrANonExecutableFileIsSaidBeforeAnyAgentWork(string binary)
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "notes.sh"), "echo hi\n"); // no execute bit

        var missing = await DoppelBinaries.RunAsync(binary, dir.Path, NoAgent(dir), "exec", "-t", "targetless", "--", "/doppel-nowhere/tool");
        var notExecutable = await DoppelBinaries.RunAsync(binary, dir.Path, NoAgent(dir), "exec", "-t", "targetless", "--", "./notes.sh");
        var directory = await DoppelBinaries.RunAsync(binary, dir.Path, NoAgent(dir), "exec", "-t", "targetless", "--", "/tmp");

        Assert.Equal((ExitCodes.CommandNotFound, "doppel: /doppel-nowhere/tool: No such file or directory\n"), (missing.ExitCode, missing.StdErr));
        Assert.Equal((ExitCodes.CannotExecute, "doppel: ./notes.sh: Permission denied\n"), (notExecutable.ExitCode, notExecutable.StdErr));
        Assert.Equal((ExitCodes.CannotExecute, "doppel: /tmp: Is a directory\n"), (directory.ExitCode, directory.StdErr));
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task ThePathTheConfigurationGivesTheProgramIsTheOneSearched(string binary)
    {
        using var dir = new TempDir();
        var tools = Directory.CreateDirectory(Path.Combine(dir.Path, "tools")).FullName;
        File.WriteAllText(Path.Combine(tools, "my-tool"), "#!/bin/sh\necho tool\n");
        File.SetUnixFileMode(Path.Combine(tools, "my-tool"), (UnixFileMode)0x1ED);
        File.WriteAllText(Path.Combine(dir.Path, "tools.json"), "{\"feature\": {\"env\": {\"override\": {\"PATH\": \"" + tools + "\"}}}}");
        File.WriteAllText(Path.Combine(dir.Path, "no-path.json"), """{"feature": {"env": {"unset": ["PATH"]}}}""");

        // my-tool is on the configured PATH only: doppel goes on to the agent (missing here: 69).
        var found = await DoppelBinaries.RunAsync(binary, dir.Path, NoAgent(dir), "exec", "-f", "tools.json", "-t", "targetless", "--", "my-tool");
        var notFound = await DoppelBinaries.RunAsync(binary, dir.Path, NoAgent(dir), "exec", "-t", "targetless", "--", "my-tool");
        // PATH unset: the shell's default path, where sh is.
        var defaultPath = await DoppelBinaries.RunAsync(binary, dir.Path, NoAgent(dir), "exec", "-f", "no-path.json", "-t", "targetless", "--", "sh");

        Assert.True(found.ExitCode == ExitCodes.Unavailable, found.StdErr);
        Assert.Contains("doppel-agent was not found", found.StdErr, StringComparison.Ordinal);
        Assert.Equal((ExitCodes.CommandNotFound, "doppel: my-tool: command not found\n"), (notFound.ExitCode, notFound.StdErr));
        Assert.True(defaultPath.ExitCode == ExitCodes.Unavailable, defaultPath.StdErr);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task WithAWorkingDirectoryInThePodOnlyWhatNoDirectoryCouldChangeIsRefusedEarly(string binary)
    {
        using var dir = new TempDir();

        // ./tool might be found from the pod's directory: the check leaves it to the run (here: no agent, 69).
        var relative = await DoppelBinaries.RunAsync(binary, dir.Path, NoAgent(dir), "exec", "-C", "/doppel-pod-only", "-t", "targetless", "--", "./tool");
        var bare = await DoppelBinaries.RunAsync(binary, dir.Path, NoAgent(dir), "exec", "-C", "/doppel-pod-only", "-t", "targetless", "--", "no-such-program-here");
        var absolute = await DoppelBinaries.RunAsync(binary, dir.Path, NoAgent(dir), "exec", "-C", "/doppel-pod-only", "-t", "targetless", "--", "/doppel-nowhere/tool");

        Assert.True(relative.ExitCode == ExitCodes.Unavailable, relative.StdErr);
        Assert.Equal((ExitCodes.CommandNotFound, "doppel: no-such-program-here: command not found\n"), (bare.ExitCode, bare.StdErr));
        Assert.Equal((ExitCodes.CommandNotFound, "doppel: /doppel-nowhere/tool: No such file or directory\n"), (absolute.ExitCode, absolute.StdErr));
    }
}
