using Doppel.Interception.Policy;

namespace Doppel.Bench;

/// <summary>
/// <c>Doppel.Bench [--quick]</c>: measures each figure next to the direct path in the same run
/// and prints one table per figure.
/// </summary>
internal static class BenchCommand
{
    public const int ExitOk = 0;
    public const int ExitFailed = 1;
    public const int ExitUsage = 2;

    public static async Task<int> RunAsync(string[] args, TextWriter output, CancellationToken cancellationToken)
    {
        BenchSettings settings;
        if (args.Length == 0)
        {
            settings = BenchSettings.Full;
        }
        else if (args is ["--quick"])
        {
            settings = BenchSettings.Quick;
        }
        else
        {
            await Console.Error.WriteLineAsync("Usage: Doppel.Bench [--quick]  (--quick runs fewer calls and rounds, as a smoke test)");
            return ExitUsage;
        }

        using var interrupted = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true; // stop between runs and clean up the temp dir
            interrupted.Cancel();
        };
        Console.CancelKeyPress += onCancel;

        var temp = Directory.CreateTempSubdirectory("doppel-bench-");
        try
        {
            var aot = BenchPaths.FindAotLauncher();
            var jit = BenchPaths.JitLauncher;
            var launchers = aot is null ? new[] { jit } : [aot, jit];
            var main = launchers[0];

            await output.WriteLineAsync($"doppel bench{(settings == BenchSettings.Quick ? " --quick" : "")} · {MachineInfo.Describe()}");
            if (aot is null)
            {
                await output.WriteLineAsync("artifacts/doppel was not found (run scripts/build.sh to publish it), so only the JIT launcher is measured.");
            }

            await output.WriteLineAsync(
                $"doppel = run through InterceptedProcess with the {main.Name} launcher ({main.Path}) for figures 1 and 3; " +
                $"the supervisor runs in this process (JIT); filter traps {LocalPolicy.DefaultFamilies}; the policy decides Local for every path and address.");
            await output.WriteLineAsync();

            var workload = await Workload.CompileAsync(temp.FullName, interrupted.Token);
            var probe = Path.Combine(temp.FullName, "probe");
            await File.WriteAllTextAsync(probe, "probe\n", interrupted.Token);

            await output.WriteLineAsync((await SyscallCost.RunAsync(workload, main, probe, settings, interrupted.Token)).ToString());
            await output.WriteLineAsync((await StartupCost.RunAsync(launchers, settings, interrupted.Token)).ToString());
            await output.WriteLineAsync((await FileCost.RunAsync(workload, main, Path.Combine(temp.FullName, "files"), settings, interrupted.Token)).ToString());
            return ExitOk;
        }
        catch (BenchException e)
        {
            await Console.Error.WriteLineAsync(e.Message);
            return ExitFailed;
        }
        catch (OperationCanceledException) when (interrupted.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("Interrupted; no figures were recorded for the figure in progress.");
            return ExitFailed;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
            temp.Delete(recursive: true);
        }
    }
}
