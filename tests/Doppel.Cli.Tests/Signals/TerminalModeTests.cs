using Doppel.Cli.Tests.Support;

namespace Doppel.Cli.Tests.Signals;

/// <summary>
/// doppel leaves the terminal's modes as it found them: .NET's console switches a terminal to
/// application cursor keys (<c>\e[?1h\e=</c>, terminfo's keypad_xmit) on its first write and never
/// back, after which the shell (and the program doppel runs) got <c>\eOA</c> for the up arrow.
/// </summary>
public sealed class TerminalModeTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static TheoryData<string> Binaries => DoppelBinaries.All;

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task VersionLeavesTheKeypadModeAlone(string binary)
    {
        var output = await RunOnTerminalAsync(binary, new Dictionary<string, string>(), "--version");

        Assert.Matches(@"^\d+\.\d+\.\d+\S*\r\n$", output);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task AnErrorMessageLeavesTheKeypadModeAlone(string binary)
    {
        var output = await RunOnTerminalAsync(binary, new Dictionary<string, string>(), "verify-config", "/nonexistent/doppel.json");

        Assert.Contains("error:", output, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task ExecWithItsSpinnerAndProgramLeavesTheKeypadModeAlone(string binary)
    {
        var environment = new Dictionary<string, string> { ["DOPPEL_AGENT_BINARY"] = SignalTests.AgentBinary() };

        var output = await RunOnTerminalAsync(binary, environment, "exec", "-t", "targetless", "--", "sh", "-c", "echo program-ran");

        Assert.Contains("agent ready", output, StringComparison.Ordinal);
        Assert.Contains("program-ran", output, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task StatusWithItsTableLeavesTheKeypadModeAlone(string binary)
    {
        // A session on a pid target (this test's process) runs a shared local agent for status to list.
        var environment = new Dictionary<string, string> { ["DOPPEL_AGENT_BINARY"] = SignalTests.AgentBinary() };
        var go = Path.Combine(Path.GetTempPath(), $"doppel-status-go-{Guid.NewGuid():N}");
        await using var session = DoppelRun.WithoutTerminal(
            binary, environment, "exec", "-t", $"pid/{Environment.ProcessId}", "--", "sh", "-c", $"echo program-ready; while [ ! -e '{go}' ]; do sleep 0.05; done");
        try
        {
            await session.WaitForAsync("program-ready", Timeout);

            var output = await RunOnTerminalAsync(binary, new Dictionary<string, string>(), "status", "--local");

            Assert.Contains($"pid-{Environment.ProcessId}", output, StringComparison.Ordinal);
            Assert.Contains("│ session", output, StringComparison.Ordinal);
        }
        finally
        {
            File.WriteAllText(go, string.Empty);
            await session.WaitForExitAsync(Timeout);
            File.Delete(go);
        }
    }

    /// <summary>Runs doppel on a pseudo-terminal with an xterm's terminfo and checks that every keypad set is reset after it.</summary>
    private static async Task<string> RunOnTerminalAsync(string binary, Dictionary<string, string> environment, params string[] args)
    {
        // xterm's terminfo has keypad_xmit; without TERM .NET would write none and the test would prove nothing.
        environment["TERM"] = "xterm";
        await using var run = DoppelRun.OnTerminal(binary, environment, args);
        var code = await run.WaitForExitAsync(Timeout);
        var output = run.Output;

        Assert.True(code is 0 or 2, $"exit code {code}\n{output}");
        var set = Math.Max(output.LastIndexOf("\e[?1h", StringComparison.Ordinal), output.LastIndexOf("\e=", StringComparison.Ordinal));
        var reset = Math.Min(output.LastIndexOf("\e[?1l", StringComparison.Ordinal), output.LastIndexOf("\e>", StringComparison.Ordinal));
        Assert.True(set < 0 || reset > set, $"doppel left the terminal in application cursor-key mode:\n{output.Replace("\e", "\\e", StringComparison.Ordinal)}");
        return output;
    }
}
