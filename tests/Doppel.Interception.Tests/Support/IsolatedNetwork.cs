using System.Diagnostics;
using Doppel.Linux.Namespaces;

namespace Doppel.Interception.Tests.Support;

/// <summary>
/// Runs setup code on a thread moved into a fresh network namespace that has only a loopback
/// interface: listeners created there and processes spawned from there (the launcher and the
/// program under test) have no route anywhere else. A destination that doppel fails to
/// redirect therefore fails with ENETUNREACH instead of leaving the machine. The namespace
/// disappears with its last socket and process.
/// </summary>
internal static class IsolatedNetwork
{
    public static Task<T> RunAsync<T>(Func<T> setup)
    {
        var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                var errno = NetworkNamespace.UnshareCurrentThread();
                if (errno != 0)
                {
                    throw new InvalidOperationException($"unshare(CLONE_NEWNET) failed with errno {errno}; these tests need root.");
                }

                // Spawned from this thread, so `ip` runs in the new namespace.
                using (var ip = Process.Start(new ProcessStartInfo("ip", "link set lo up") { UseShellExecute = false })!)
                {
                    ip.WaitForExit();
                    if (ip.ExitCode != 0)
                    {
                        throw new InvalidOperationException("ip link set lo up failed.");
                    }
                }

                result.SetResult(setup());
            }
            catch (Exception e)
            {
                result.SetException(e);
            }
        })
        { IsBackground = true, Name = "isolated-netns" };
        thread.Start();
        return result.Task;
    }
}
