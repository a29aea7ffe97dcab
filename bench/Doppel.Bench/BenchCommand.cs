using Doppel.Interception.Policy;

namespace Doppel.Bench;

/// <summary>
/// <c>Doppel.Bench [--quick] [--p3 | --p6 | --p9 | --kube]</c>: measures each figure next to the direct path in the same run
/// and prints one table per figure: 1–3 (interception, no root needed); with <c>--p3</c>,
/// 4–7 against the namespace mini-cluster through <c>doppel exec</c> and its agent (root); with
/// <c>--p6</c>, 8–10: incoming steal, pass-through and mirror at load, and the agent's memory with 10 sessions (root);
/// with <c>--kube</c>, 11–12: doppel's port-forward next to kubectl's against the test cluster DOPPEL_TEST_KUBE_DIR names;
/// with <c>--p9</c>, 13–19: pod files in fs mode write (create, rename, locks, untrapped fcntl, close, small writes to a big file) and process spawns against the mini-cluster (root).
/// </summary>
internal static class BenchCommand
{
    public const int ExitOk = 0;
    public const int ExitFailed = 1;
    public const int ExitUsage = 2;

    public static async Task<int> RunAsync(string[] args, TextWriter output, CancellationToken cancellationToken)
    {
        var quick = args.Contains("--quick");
        var p3 = args.Contains("--p3");
        var p6 = args.Contains("--p6");
        var p9 = args.Contains("--p9");
        var kube = args.Contains("--kube");
        if (args.Any(a => a is not ("--quick" or "--p3" or "--p6" or "--p9" or "--kube")) || args.Distinct().Count() != args.Length
            || (p3 ? 1 : 0) + (p6 ? 1 : 0) + (p9 ? 1 : 0) + (kube ? 1 : 0) > 1)
        {
            await Console.Error.WriteLineAsync(
                "Usage: Doppel.Bench [--quick] [--p3 | --p6 | --p9 | --kube]  (--quick runs fewer calls and rounds, as a smoke test; " +
                "--p3 runs the mini-cluster figures 4–7 instead of 1–3, --p6 the incoming-traffic figures 8–10, " +
                "--p9 the pod-file figures 13–19 (fs mode write: create, rename, locks, fcntl, close, spawn, big-file writes), all three as root; " +
                "--kube the port-forward figures 11–12 against the test cluster DOPPEL_TEST_KUBE_DIR names)");
            return ExitUsage;
        }

        var settings = quick ? BenchSettings.Quick : BenchSettings.Full;

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
            var header = $"doppel bench{(quick ? " --quick" : "")}{(p3 ? " --p3" : "")}{(p6 ? " --p6" : "")}{(p9 ? " --p9" : "")}{(kube ? " --kube" : "")} · {MachineInfo.Describe()}";
            if (kube)
            {
                await KubeFigures.RunAsync(header, quick ? KubeSettings.Quick : KubeSettings.Full, output, interrupted.Token);
                return ExitOk;
            }

            if (p6)
            {
                await IncomingFigures.RunAsync(header, aot, temp.FullName, quick ? IncomingSettings.Quick : IncomingSettings.Full, output, interrupted.Token);
                return ExitOk;
            }

            if (p9)
            {
                await PodFileFigures.RunAsync(header, aot, temp.FullName, quick ? PodFileSettings.Quick : PodFileSettings.Full, output, interrupted.Token);
                return ExitOk;
            }

            if (p3)
            {
                await ClusterFigures.RunAsync(header, aot, temp.FullName, settings.Cluster, output, interrupted.Token);
                return ExitOk;
            }

            var jit = BenchPaths.JitLauncher;
            var launchers = aot is null ? new[] { jit } : [aot, jit];
            var main = launchers[0];

            await output.WriteLineAsync(header);
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
