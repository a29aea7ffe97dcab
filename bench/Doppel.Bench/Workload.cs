using System.ComponentModel;
using System.Diagnostics;

namespace Doppel.Bench;

/// <summary>The C program of native/syscalls.c, compiled with gcc into the bench's temp dir.</summary>
internal static class Workload
{
    /// <summary>Compiles the workload; throws <see cref="BenchException"/> when gcc is missing or fails.</summary>
    public static async Task<string> CompileAsync(string directory, CancellationToken cancellationToken)
    {
        var output = Path.Combine(directory, "syscalls");
        var start = new ProcessStartInfo("gcc") { UseShellExecute = false, RedirectStandardError = true };
        foreach (var argument in new[] { "-O2", "-Wall", "-o", output, BenchPaths.WorkloadSource })
        {
            start.ArgumentList.Add(argument);
        }

        Process? gcc;
        try
        {
            gcc = Process.Start(start);
        }
        catch (Win32Exception)
        {
            gcc = null;
        }

        if (gcc is null)
        {
            throw new BenchException("gcc was not found: install it (scripts/build.sh does) and run the bench again.");
        }

        using (gcc)
        {
            var stderr = await gcc.StandardError.ReadToEndAsync(cancellationToken);
            await gcc.WaitForExitAsync(cancellationToken);
            if (gcc.ExitCode != 0)
            {
                throw new BenchException($"gcc could not compile {BenchPaths.WorkloadSource}: {stderr.Trim()}");
            }
        }

        return output;
    }
}
