using System.Collections.Concurrent;
using Doppel.Interception.Supervision;
using Doppel.Session.Files;

namespace Doppel.Interception.Tests.Support;

/// <summary>Runs programs through doppel's real launcher (the doppel apphost beside the tests).</summary>
internal static class Run
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The doppel apphost built beside the tests, or the binary named by DOPPEL_TEST_LAUNCHER
    /// (e.g. the NativeAOT artifacts/doppel), so the same tests run against both builds.
    /// </summary>
    public static string LauncherPath =>
        Environment.GetEnvironmentVariable("DOPPEL_TEST_LAUNCHER") is { Length: > 0 } launcher
            ? launcher
            : Path.Combine(AppContext.BaseDirectory, "doppel");

    public static InterceptionOptions Options(string program, params string[] arguments)
        => new() { Program = program, Arguments = arguments, LauncherPath = LauncherPath, CaptureOutput = true };

    /// <summary>
    /// Starts the program from inside a fresh network namespace, after <paramref name="setup"/> ran
    /// there, with the session's real file sync over <paramref name="remote"/> (its reports to the
    /// user land in <see cref="RunResult.Reports"/>). <paramref name="time"/> is the file sync's
    /// clock (a test's FakeTimeProvider ages directory listings); the system's by default.
    /// </summary>
    public static async Task<RunResult> IsolatedAsync(
        InterceptionOptions options, TestPolicy policy, DirectoryRemote remote, Action? setup = null, Func<InterceptedProcess, Task>? whileRunning = null, TimeProvider? time = null)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        var reports = new ConcurrentQueue<string>();
        await using var files = new FileSync(remote, reports.Enqueue, time: time);
        options = options with { Files = files };
        var starting = await IsolatedNetwork.RunAsync(() =>
        {
            setup?.Invoke();
            return InterceptedProcess.StartAsync(options, policy, remote, timeout.Token);
        });
        await using var process = await starting;
        var stdout = process.StandardOutput!.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError!.ReadToEndAsync(timeout.Token);
        if (whileRunning is not null)
        {
            await whileRunning(process);
        }

        var exitCode = await process.WaitForExitAsync(timeout.Token);
        return new RunResult(exitCode, await stdout, await stderr, process.Statistics) { Reports = [.. reports] };
    }
}
