using System.ComponentModel;
using System.Diagnostics;

namespace Doppel.Bench;

/// <summary>The C programs of native/, compiled with gcc into the bench's temp dir.</summary>
internal static class Workload
{
    /// <summary>Compiles native/syscalls.c; throws <see cref="BenchException"/> when gcc is missing or fails.</summary>
    public static Task<string> CompileAsync(string directory, CancellationToken cancellationToken)
        => CompileAsync(BenchPaths.WorkloadSource, Path.Combine(directory, "syscalls"), [], cancellationToken);

    /// <summary>Compiles native/p3net.c (the mini-cluster figures' server and client).</summary>
    public static Task<string> CompileNetworkAsync(string directory, CancellationToken cancellationToken)
        => CompileAsync(BenchPaths.NetworkWorkloadSource, Path.Combine(directory, "p3net"), ["-pthread"], cancellationToken);

    /// <summary>Compiles native/p9files.c (the pod-file figures' client, 13–18).</summary>
    public static Task<string> CompileFilesAsync(string directory, CancellationToken cancellationToken)
        => CompileAsync(BenchPaths.FilesWorkloadSource, Path.Combine(directory, "p9files"), [], cancellationToken);

    private static async Task<string> CompileAsync(string source, string output, IReadOnlyList<string> flags, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("gcc") { UseShellExecute = false, RedirectStandardError = true };
        foreach (var argument in (string[])["-O2", "-Wall", .. flags, "-o", output, source])
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
                throw new BenchException($"gcc could not compile {source}: {stderr.Trim()}");
            }
        }

        return output;
    }
}
