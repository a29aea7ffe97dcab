using System.Diagnostics;
using Doppel.Interception.Launching;

namespace Doppel.Interception.Tests.Launching;

/// <summary>
/// The thread that forks the launcher: it lives until disposed (the launcher's parent-death signal
/// is tied to it), and disposing it ends it before the event it waits on is released.
/// </summary>
public sealed class SpawningThreadTests
{
    [Fact]
    public void TheThreadLivesUntilDisposedAndHasEndedWhenDisposeReturns()
    {
        Thread? spawner = null;
        var (process, owner) = SpawningThread.Spawn(() =>
        {
            spawner = Thread.CurrentThread;
            return Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        });
        using (process)
        {
            process.WaitForExit();
            Thread.Sleep(100);
            Assert.True(spawner!.IsAlive, "the spawning thread ended before it was disposed");

            owner.Dispose();

            Assert.False(spawner.IsAlive, "the spawning thread still ran when Dispose returned");
            owner.Dispose(); // a second Dispose is harmless
        }
    }

    [Fact]
    public void AFailedSpawnIsRethrownAndItsThreadEnds()
    {
        Thread? spawner = null;

        var e = Assert.Throws<InvalidOperationException>(() => SpawningThread.Spawn(() =>
        {
            spawner = Thread.CurrentThread;
            throw new InvalidOperationException("no launcher");
        }));

        Assert.Equal("no launcher", e.Message);
        Assert.True(spawner!.Join(TimeSpan.FromSeconds(10)), "the spawning thread of a failed spawn still runs");
    }
}
