namespace Doppel.Interception.Tests.Support;

/// <summary>Waits on a process's state in /proc instead of on time.</summary>
internal static class Proc
{
    /// <summary>
    /// Completes once process <paramref name="pid"/> runs <paramref name="command"/> (its
    /// /proc/PID/comm, e.g. after the program's exec); fails after <paramref name="timeout"/>.
    /// </summary>
    public static async Task WaitUntilRunningAsync(int pid, string command, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (Command(pid) != command)
        {
            await Task.Delay(10, deadline.Token); // polls the state; proves nothing by the time it takes
        }
    }

    private static string? Command(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").TrimEnd('\n');
        }
        catch (IOException)
        {
            return null;
        }
    }
}
