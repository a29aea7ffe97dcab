using System.Diagnostics;
using Doppel.Interception;
using Doppel.Interception.Remote;
using Doppel.Session.Files;

namespace Doppel.Bench;

/// <summary>Runs a program directly, or under interception through a launcher, and times it.</summary>
internal static class Runs
{
    public static async Task<RunResult> DirectAsync(string program, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var started = Stopwatch.GetTimestamp();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        var elapsed = Stopwatch.GetElapsedTime(started);
        Check(program, "directly", process.ExitCode, await stderr);
        return new RunResult(elapsed, await stdout, 0);
    }

    public static async Task<RunResult> InterceptedAsync(
        Launcher launcher, string program, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        // LocalPolicy keeps every path local: the file sync is never asked, but the file traps need one.
        await using var files = new FileSync(new NoRemote(), report: _ => { });
        var options = new InterceptionOptions
        {
            Program = program,
            Arguments = arguments,
            LauncherPath = launcher.Path,
            CaptureOutput = true,
            Files = files,
        };
        var policy = new LocalPolicy();

        var started = Stopwatch.GetTimestamp();
        await using var process = await InterceptedProcess.StartAsync(options, policy, new NoRemote(), cancellationToken);
        var stdout = process.StandardOutput!.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError!.ReadToEndAsync(cancellationToken);
        var exitCode = await process.WaitForExitAsync(cancellationToken);
        var elapsed = Stopwatch.GetElapsedTime(started);
        Check(program, $"under doppel ({launcher.Name} launcher)", exitCode, await stderr);
        return new RunResult(elapsed, await stdout, policy.FileDecisions);
    }

    private static void Check(string program, string how, int exitCode, string stderr)
    {
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"{program} run {how} exited with {exitCode}: {stderr.Trim()}");
        }
    }
}
