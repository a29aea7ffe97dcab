using System.Net;
using Doppel.Interception.Policy;
using Doppel.Interception.Tests.Support;
using Doppel.Session.Files;

namespace Doppel.Interception.Tests.Supervision;

public sealed class ProcessTreeTests
{
    [Fact]
    public async Task ChildrenAndGrandchildrenOfAShellAreIntercepted()
    {
        using var fs = new RemoteFileSystem();
        var a = fs.Write("a", "A");
        var b = fs.Write("b", "B");
        var script = $"cat {a}; (cat {b}; sh -c 'cat {a}' ) & wait; echo";

        var result = await Run.IsolatedAsync(Run.Options("sh", "-c", script), fs.Policy(), fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("ABA\n", result.Stdout);
    }

    [Fact]
    public async Task TheProgramOutlivesTheThreadThatStartedIt()
    {
        // The program dies with doppel (PR_SET_PDEATHSIG), which the kernel ties to the thread that
        // forked it: the launcher is forked from a thread that lives until the program is done
        // with, not from the caller's, which here ends once the program runs.
        using var fs = new RemoteFileSystem();
        using var timeout = new CancellationTokenSource(Run.Timeout);
        await using var files = new FileSync(fs.Remote, report: _ => { });
        var process = await IsolatedNetwork.RunAsync(() => InterceptedProcess.StartAsync(
            Run.Options("sh", "-c", "sleep 1; echo still running") with { Files = files },
            fs.Policy(),
            fs.Remote,
            timeout.Token).GetAwaiter().GetResult());
        await using (process)
        {
            var stdout = process.StandardOutput!.ReadToEndAsync(timeout.Token);

            Assert.Equal(0, await process.WaitForExitAsync(timeout.Token));
            Assert.Equal("still running\n", await stdout);
        }
    }

    [Fact]
    public async Task ProcessTreeExitedWaitsForDescendantsLeftBehind()
    {
        using var fs = new RemoteFileSystem();
        var path = fs.Write("bg", "bg");
        using var timeout = new CancellationTokenSource(Run.Timeout);
        await using var files = new FileSync(fs.Remote, report: _ => { });
        using var go = new Fifo();

        // The shell opens the fifo (read-write: no wait) before it forks; the descendant it leaves
        // behind waits on it, so it is still running after the shell exits, until the test writes.
        var script = $"exec 3<>{go.Path}; (read line <&3; cat {path} > /dev/null) > /dev/null 2>&1 < /dev/null &";
        var starting = await IsolatedNetwork.RunAsync(() => InterceptedProcess.StartAsync(
            Run.Options("sh", "-c", script) with { CaptureOutput = false, Files = files },
            fs.Policy(),
            fs.Remote,
            timeout.Token));
        await using var process = await starting;

        Assert.Equal(0, await process.WaitForExitAsync(timeout.Token));
        Assert.False(process.ProcessTreeExited.IsCompleted);
        await using (var writer = await go.OpenWriterAsync(Run.Timeout))
        {
            await writer.WriteAsync("go\n"u8.ToArray(), timeout.Token);
        }

        await process.ProcessTreeExited.WaitAsync(timeout.Token);
        Assert.Contains(path, fs.Remote.Reads); // the descendant was still served
    }

    [Fact]
    public async Task ASlowRemoteCallDoesNotStallOtherThreads()
    {
        using var fs = new RemoteFileSystem();
        var slow = fs.Write("slow", "s");
        var fast = fs.Write("fast", "f");
        fs.Remote.Delays[slow] = TimeSpan.FromSeconds(5);
        var script = $$"""
            import threading, time
            t0 = time.monotonic()
            done = {}
            def read(path, key):
                open(path).read()
                done[key] = time.monotonic() - t0
            s = threading.Thread(target=read, args=("{{slow}}", "slow")); s.start()
            time.sleep(0.2)
            for i in range(50):
                read("{{fast}}", "fast")
            slow_pending_after_fast = "slow" not in done
            s.join()
            print(slow_pending_after_fast, done["slow"] >= 4.9)  # .NET timers tick in whole milliseconds and may fire a hair early
            """;

        var result = await Run.IsolatedAsync(Run.Options("python3", "-c", script), fs.Policy(), fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("True True\n", result.Stdout);
    }

    [Fact]
    public async Task ThreadsMakingCallsConcurrentlyAllGetTheirAnswers()
    {
        using var fs = new RemoteFileSystem();
        for (var i = 0; i < 8; i++)
        {
            fs.Write($"c/{i}", new string((char)('a' + i), i + 1));
        }

        var script = $$"""
            import threading, os
            results = [None] * 8
            def work(i):
                for _ in range(25):
                    results[i] = (open("{{fs.Prefix}}/c/%d" % i).read(), os.stat("{{fs.Prefix}}/c/%d" % i).st_size)
            ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
            [t.start() for t in ts]; [t.join() for t in ts]
            print(all(r == (chr(97 + i) * (i + 1), i + 1) for i, r in enumerate(results)))
            """;

        var result = await Run.IsolatedAsync(Run.Options("python3", "-c", script), fs.Policy(), fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("True\n", result.Stdout);
    }

    [Fact]
    public async Task AProcessKilledMidCallEndsCleanly()
    {
        using var fs = new RemoteFileSystem();
        var slow = fs.Write("hang", "h");
        fs.Remote.Delays[slow] = Timeout.InfiniteTimeSpan; // the remote never answers: only the kill can end the call

        var result = await Run.IsolatedAsync(
            Run.Options("cat", slow),
            fs.Policy(),
            fs.Remote,
            whileRunning: async process =>
            {
                await fs.Remote.DelayedCallArrived(slow).WaitAsync(Run.Timeout);
                process.Signal(9);
            });

        Assert.Equal(128 + 9, result.ExitCode);
    }

    [Fact]
    public async Task SkippedProcessesRunUntouched()
    {
        using var fs = new RemoteFileSystem();
        var path = fs.Write("skip", "seen\n");
        var policy = fs.Policy() with { SkippedProcesses = new HashSet<string> { "cat" } };

        var result = await Run.IsolatedAsync(Run.Options("sh", "-c", $"head -n1 {path}; cat {path}"), policy, fs.Remote);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("seen\n", result.Stdout);
        Assert.Contains("No such file or directory", result.Stderr);
        Assert.True(result.Statistics!.SkippedProcess > 0);
        Assert.Equal(["cat"], policy.ProcessesSkipped.Distinct());
    }

    [Fact]
    public async Task UnameAnswersThePodsHostname()
    {
        var remote = new DirectoryRemote("/nonexistent") { Hostname = "my-pod-7d9f" };
        var policy = new TestPolicy { Families = SyscallFamilies.Hostname };

        var result = await Run.IsolatedAsync(Run.Options("sh", "-c", "uname -n; hostname"), policy, remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("my-pod-7d9f\nmy-pod-7d9f\n", result.Stdout);
        _ = IPAddress.Loopback;
    }

    [Fact]
    public async Task AnOrphanLeftAfterDisposeEndsInsteadOfHanging()
    {
        using var fs = new RemoteFileSystem();
        var path = fs.Write("late", "late");

        using var go = new Fifo();

        // The orphan makes trapped calls after the supervisor is gone: they must fail (ENOSYS),
        // not wait forever for an answer. It waits on the fifo (opened read-write by the shell
        // before it forks) until the test writes, which it does once the run is disposed.
        var result = await Run.IsolatedAsync(
            Run.Options("sh", "-c", $"exec 3<>{go.Path}; (read line <&3; cat {path}) > /dev/null 2>&1 < /dev/null & echo $!"),
            fs.Policy(),
            fs.Remote);

        Assert.Equal(0, result.ExitCode);
        var orphan = int.Parse(result.Stdout.Trim());
        Assert.True(IsRunning(orphan), $"the orphan {orphan} ended before the supervisor was gone");
        await using (var writer = await go.OpenWriterAsync(Run.Timeout))
        {
            await writer.WriteAsync("go\n"u8.ToArray());
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (IsRunning(orphan) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.False(IsRunning(orphan), $"the orphan {orphan} is still running: {File.ReadAllText($"/proc/{orphan}/stat")}");
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z') == false;
        }
        catch (IOException)
        {
            return false;
        }
    }
}
