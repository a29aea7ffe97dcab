using System.Diagnostics;
using Doppel.Linux.Native;
using Doppel.Linux.Processes;

namespace Doppel.Linux.Tests.Processes;

public sealed class PendingSignalsTests
{
    // /proc/TID/status lines as Linux writes them (proc(5)); bit N-1 is signal N: 0x4000 is SIGALRM (14), 0x200 SIGUSR1 (10).
    private static string Status(string own = "0", string shared = "0", string blocked = "0", string ignored = "0", int threads = 1) =>
        $"Name:\tpython3\nThreads:\t{threads}\nSigQ:\t1/63704\nSigPnd:\t{own.PadLeft(16, '0')}\nShdPnd:\t{shared.PadLeft(16, '0')}\n" +
        $"SigBlk:\t{blocked.PadLeft(16, '0')}\nSigIgn:\t{ignored.PadLeft(16, '0')}\nSigCgt:\t0000000000004000\n";

    [Fact]
    public void ASignalTheThreadWillHandleRestartsTheCallAndAProcessWideOneInAThreadedProcessIsEintr()
    {
        Assert.Null(PendingSignals.InterruptErrno(Status()));
        Assert.Equal(KernelErrno.ERESTARTSYS, PendingSignals.InterruptErrno(Status(own: "4000")));
        Assert.Equal(KernelErrno.ERESTARTSYS, PendingSignals.InterruptErrno(Status(shared: "4000")));
        Assert.Equal(KernelErrno.ERESTARTSYS, PendingSignals.InterruptErrno(Status(own: "4000", shared: "4000", threads: 3)));
        Assert.Equal(Errno.EINTR, PendingSignals.InterruptErrno(Status(shared: "4000", threads: 3)));
    }

    [Fact]
    public void BlockedAndIgnoredSignalsInterruptNothing()
    {
        Assert.Null(PendingSignals.InterruptErrno(Status(own: "4000", blocked: "4000")));
        Assert.Null(PendingSignals.InterruptErrno(Status(shared: "4000", ignored: "4000", threads: 2)));
        Assert.Equal(KernelErrno.ERESTARTSYS, PendingSignals.InterruptErrno(Status(own: "4200", blocked: "4000")));
        Assert.False(PendingSignals.HasDeliverable(Status(shared: "200", blocked: "200")));
        Assert.True(PendingSignals.HasDeliverable(Status(shared: "200", threads: 2)));
    }

    [Fact]
    public void ASignalPendingForAStoppedProcessIsSeenUntilItRuns()
    {
        using var sleeper = Process.Start("sleep", "60");
        try
        {
            Assert.Null(PendingSignals.InterruptErrno(sleeper.Id));
            Assert.Equal(0, ProcessTree.Signal(sleeper.Id, 19)); // SIGSTOP
            WaitFor(() => File.ReadAllText($"/proc/{sleeper.Id}/status").Contains("State:\tT", StringComparison.Ordinal));

            // A stopped process does not take its signals: SIGUSR1 stays pending, process-wide, with one thread.
            Assert.Equal(0, ProcessTree.Signal(sleeper.Id, 10)); // SIGUSR1
            Assert.Equal(KernelErrno.ERESTARTSYS, PendingSignals.InterruptErrno(sleeper.Id));

            Assert.Equal(0, ProcessTree.Signal(sleeper.Id, 18)); // SIGCONT
            Assert.True(sleeper.WaitForExit(TimeSpan.FromSeconds(10)));
        }
        finally
        {
            if (!sleeper.HasExited)
            {
                sleeper.Kill();
            }
        }

        // Gone: nothing is pending.
        Assert.Null(PendingSignals.InterruptErrno(sleeper.Id));
    }

    private static void WaitFor(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold within 10 s");
            Thread.Sleep(10);
        }
    }
}
