using System.Diagnostics;

namespace Doppel.Cli.Tests.Support;

/// <summary>
/// The real executables under test: the JIT build next to the tests, and the NativeAOT build
/// that scripts/build.sh leaves in artifacts/ (scripts/test.sh names it in DOPPEL_AOT_BINARY).
/// </summary>
internal static class DoppelBinaries
{
    public static TheoryData<string> All
    {
        get
        {
            var data = new TheoryData<string> { Path.Combine(AppContext.BaseDirectory, "doppel") };
            if (Environment.GetEnvironmentVariable("DOPPEL_AOT_BINARY") is { Length: > 0 } aot)
            {
                if (!File.Exists(aot))
                {
                    throw new FileNotFoundException($"DOPPEL_AOT_BINARY names {aot}, which does not exist; run scripts/build.sh.");
                }

                data.Add(aot);
            }

            return data;
        }
    }

    public static async Task<(int ExitCode, string StdOut, string StdErr)> RunAsync(string binary, string workingDirectory, IReadOnlyDictionary<string, string> env, params string[] args)
    {
        var start = new ProcessStartInfo(binary)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        foreach (var (k, v) in env)
        {
            start.Environment[k] = v;
        }

        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{binary} {string.Join(' ', args)} did not finish within 60 s.");
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
