using System.Diagnostics;
using Doppel.Session.Agent;

namespace Doppel.Session.Tests.Support;

/// <summary>
/// The real doppel-agent (the NativeAOT build named by DOPPEL_AGENT_BINARY, else the apphost
/// beside the tests) on a unix socket that survives a kill and restart, as doppel's own
/// supervision does it.
/// </summary>
internal sealed class AgentUnderTest : IAsyncDisposable
{
    private static readonly string s_executable =
        Environment.GetEnvironmentVariable("DOPPEL_AGENT_BINARY") is { Length: > 0 } aot ? aot : Path.Combine(AppContext.BaseDirectory, "doppel-agent");

    private readonly string _target;
    private readonly string _directory;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private Process? _process;

    private AgentUnderTest(string target, string directory, IReadOnlyDictionary<string, string>? environment)
    {
        _environment = environment ?? new Dictionary<string, string>();
        _target = target;
        _directory = directory;
        Endpoint = AgentEndpoint.Unix(Path.Combine(directory, "agent.sock"));
    }

    public AgentEndpoint Endpoint { get; }

    /// <summary>What the agent serves (<c>pid/N</c>, <c>container/ID</c>), as a configuration's <c>target</c> names it.</summary>
    public string Target => _target;

    /// <param name="target">What the agent serves.</param>
    /// <param name="environment">Variables set for the agent besides the test's own (e.g. <c>DOPPEL_AGENT_MIRROR_QUEUE_BYTES</c>).</param>
    public static async Task<AgentUnderTest> StartAsync(string target, IReadOnlyDictionary<string, string>? environment = null)
    {
        var agent = new AgentUnderTest(target, Directory.CreateTempSubdirectory("doppel-session-test-").FullName, environment);
        await agent.LaunchAsync();
        return agent;
    }

    /// <summary>Kills the agent (our own child, by PID) and waits for it to be gone.</summary>
    public async Task KillAsync()
    {
        var process = _process!;
        process.Kill();
        await process.WaitForExitAsync();
        process.Dispose();
        _process = null;
    }

    /// <summary>Starts a new agent on the same socket.</summary>
    public Task RestartAsync() => LaunchAsync();

    public async ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            if (!process.HasExited)
            {
                process.Kill();
            }

            await process.WaitForExitAsync();
            process.Dispose();
        }

        Directory.Delete(_directory, recursive: true);
    }

    private async Task LaunchAsync()
    {
        var info = new ProcessStartInfo(s_executable) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (name, value) in _environment)
        {
            info.Environment[name] = value;
        }

        foreach (var argument in new[] { "--target", _target, "--listen", Endpoint.Text, "--idle-exit", "30" })
        {
            info.ArgumentList.Add(argument);
        }

        _process = Process.Start(info)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var line = await _process.StandardOutput.ReadLineAsync(timeout.Token);
        if (line != "listening on " + Endpoint.Text)
        {
            throw new InvalidOperationException($"doppel-agent did not start: '{line}' {await _process.StandardError.ReadToEndAsync(timeout.Token)}");
        }
    }
}
