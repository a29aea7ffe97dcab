using System.Diagnostics;
using Doppel.EndToEnd.Tests.Support;
using Doppel.Testing;

namespace Doppel.EndToEnd.Tests.Files;

/// <summary>
/// Locks on pod files are the pod's (issue 13, item 4): flock and fcntl locks the program takes are
/// held by the agent on the pod file itself, so pod processes and the program exclude each other,
/// and a lock point makes the program's copy consistent with the pod (SQLite's rollback journal).
/// The pod's side is a process holding the pod file open through the host's view of the
/// container's root: the same inode, so the same kernel locks as a process inside the container
/// (whose busybox has neither flock nor python).
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class LockTests(ClusterFixture fixture)
{
    /// <summary>
    /// Takes and tests locks on one file (opened read-write, or with the mode in argv[2]), a command
    /// per line: flock, funlock, lockf, unlockf, getlk, wait (a waiting lockf), killwaiter (a child's
    /// waiting lockf, killed after 1 s), alarmlockf and alarmflock (a waiting lock given up by a
    /// SIGALRM handler 1 s later: "timeout"), tickwait (a waiting lockf whose SIGALRM handler, 1 s
    /// later, prints "tick" and returns: Python then calls again), exit.
    /// </summary>
    private const string Locker = """
        import errno, fcntl, os, signal, struct, sys, time
        f = open(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "r+b")
        def give_up(signum, frame):
            raise TimeoutError()
        def tick(signum, frame):
            print("tick", flush=True)
        print("open", flush=True)
        for line in sys.stdin:
            command = line.strip()
            try:
                if command == "flock":
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                elif command == "funlock":
                    fcntl.flock(f, fcntl.LOCK_UN)
                elif command == "lockf":
                    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                elif command == "unlockf":
                    fcntl.lockf(f, fcntl.LOCK_UN)
                elif command == "getlk":
                    answer = fcntl.fcntl(f, fcntl.F_GETLK, struct.pack("hh4xqqi4x", fcntl.F_WRLCK, 0, 0, 0, 0))
                    kind, _, start, length, pid = struct.unpack("hh4xqqi4x", answer)
                    print({0: "read", 1: "write", 2: "free"}[kind], pid, flush=True)
                    continue
                elif command == "wait":
                    print("waiting", flush=True)
                    fcntl.lockf(f, fcntl.LOCK_EX)
                elif command in ("alarmlockf", "alarmflock"):
                    signal.signal(signal.SIGALRM, give_up)
                    signal.alarm(1)
                    try:
                        if command == "alarmlockf":
                            fcntl.lockf(f, fcntl.LOCK_EX)
                        else:
                            fcntl.flock(f, fcntl.LOCK_EX)
                    except TimeoutError:
                        print("timeout", flush=True)
                        continue
                    finally:
                        signal.alarm(0)
                elif command == "tickwait":
                    signal.signal(signal.SIGALRM, tick)
                    signal.alarm(1)
                    fcntl.lockf(f, fcntl.LOCK_EX)
                elif command == "killwaiter":
                    child = os.fork()
                    if child == 0:
                        fcntl.lockf(open(sys.argv[1], "r+b"), fcntl.LOCK_EX)
                        os._exit(0)
                    time.sleep(1)
                    os.kill(child, signal.SIGKILL)
                    os.waitpid(child, 0)
                elif command == "exit":
                    os._exit(0)
                print("ok", flush=True)
            except OSError as e:
                print(errno.errorcode[e.errno], flush=True)
        """;

    /// <summary>
    /// Adds a step to the number in a file (argv[1]) some rounds, each time open, lock, read, write,
    /// unlock and close, 20 to 60 ms apart; "STEP flock|lockf ROUNDS" on stdin starts it, "done" ends it.
    /// </summary>
    private const string Counter = """
        import fcntl, random, sys, time
        path = sys.argv[1]
        print("open", flush=True)
        step, kind, rounds = sys.stdin.readline().split()
        lock = fcntl.flock if kind == "flock" else fcntl.lockf
        for _ in range(int(rounds)):
            with open(path, "r+") as f:
                lock(f, fcntl.LOCK_EX)
                value = int(f.read() or "0")
                f.seek(0)
                f.write(str(value + int(step)))
                f.truncate()
                f.flush()
                lock(f, fcntl.LOCK_UN)
            time.sleep(random.uniform(0.02, 0.06))
        print("done", flush=True)
        """;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private string Target => $"pid/{fixture.Bff.Pid}";

    [Fact]
    public async Task FlockOfAPodProcessAndOfTheProgramExcludeEachOther()
    {
        await using var directory = PodDirectory.Make(fixture, "flock");
        var path = directory.Path + "/lock";
        await File.WriteAllTextAsync(fixture.Bff.HostPath(path), "");

        await using (var pod = await PodLocker.StartAsync(fixture.Bff.HostPath(path), fixture.WriteFile("locker.py", Locker)))
        {
            Assert.Equal("ok", await pod.AskAsync("flock"));

            // The pod holds it: the program's flock -n fails (flock(1) exits 1).
            var refused = await fixture.ExecAsync(["-t", Target, "--fs-mode", "write", "--", "flock", "-n", path, "echo", "got it"]);
            refused.AssertSucceededWith("", expectedExitCode: 1);

            Assert.Equal("ok", await pod.AskAsync("funlock"));
            var granted = await fixture.ExecAsync(["-t", Target, "--fs-mode", "write", "--", "flock", "-n", path, "echo", "got it"]);
            granted.AssertSucceededWith("got it\n");
        }

        // The program holds it: a pod process's flock -n fails, until the program unlocks.
        await using var program = DoppelExecProcess.Start(
            RepoPaths.Doppel, fixture.Cluster.Developer.Name, ["-t", Target, "--fs-mode", "write", "--", ClusterFixture.Python, fixture.WriteFile("locker.py", Locker), path], fixture.WorkDirectory, keepStdinOpen: true);
        Assert.Equal("open", await program.ReadLineAsync(Patience));
        await program.WriteLineAsync("flock");
        Assert.Equal("ok", await program.ReadLineAsync(Patience));
        Assert.Equal(1, await HostFlockAsync(fixture.Bff.HostPath(path)));

        await program.WriteLineAsync("funlock");
        Assert.Equal("ok", await program.ReadLineAsync(Patience));
        Assert.Equal(0, await HostFlockAsync(fixture.Bff.HostPath(path)));

        await program.WriteLineAsync("exit");
        var result = await program.WaitAsync(Patience);
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task FcntlLocksOfAPodProcessAndOfTheProgramAreSeenByEachOther()
    {
        await using var directory = PodDirectory.Make(fixture, "fcntl");
        var path = directory.Path + "/data";
        await File.WriteAllTextAsync(fixture.Bff.HostPath(path), "records\n");
        var locker = fixture.WriteFile("locker.py", Locker);

        await using var pod = await PodLocker.StartAsync(fixture.Bff.HostPath(path), locker);
        await using var program = DoppelExecProcess.Start(
            RepoPaths.Doppel, fixture.Cluster.Developer.Name, ["-t", Target, "--fs-mode", "write", "--", ClusterFixture.Python, locker, path], fixture.WorkDirectory, keepStdinOpen: true);
        Assert.Equal("open", await program.ReadLineAsync(Patience));

        // The pod process's write lock: the program's F_GETLK names it (type and pid), its F_SETLK fails.
        Assert.Equal("ok", await pod.AskAsync("lockf"));
        await program.WriteLineAsync("getlk");
        Assert.Equal($"write {pod.Pid}", await program.ReadLineAsync(Patience));
        await program.WriteLineAsync("lockf");
        Assert.Contains(await program.ReadLineAsync(Patience), (string[])["EAGAIN", "EACCES"]);

        // Released in the pod: the program takes it, and the pod process sees it (an OFD lock: pid -1).
        Assert.Equal("ok", await pod.AskAsync("unlockf"));
        await program.WriteLineAsync("lockf");
        Assert.Equal("ok", await program.ReadLineAsync(Patience));
        Assert.Equal("write -1", await pod.AskAsync("getlk"));
        Assert.Contains(await pod.AskAsync("lockf"), (string[])["EAGAIN", "EACCES"]);

        // The program exits without unlocking: the lock goes with it.
        await program.WriteLineAsync("exit");
        var result = await program.WaitAsync(Patience);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("free 0", await pod.AskAsync("getlk"));
        Assert.Equal("ok", await pod.AskAsync("lockf"));
    }

    [Fact]
    public async Task AWaitingLockIsGrantedWhenThePodReleasesItAndAKilledWaiterNeverHoldsIt()
    {
        await using var directory = PodDirectory.Make(fixture, "wait");
        var path = directory.Path + "/data";
        await File.WriteAllTextAsync(fixture.Bff.HostPath(path), "records\n");
        var locker = fixture.WriteFile("locker.py", Locker);

        await using var pod = await PodLocker.StartAsync(fixture.Bff.HostPath(path), locker);
        await using var program = DoppelExecProcess.Start(
            RepoPaths.Doppel, fixture.Cluster.Developer.Name, ["-t", Target, "--fs-mode", "write", "--", ClusterFixture.Python, locker, path], fixture.WorkDirectory, keepStdinOpen: true);
        Assert.Equal("open", await program.ReadLineAsync(Patience));

        // A waiter killed while the pod holds the lock: after the pod's unlock the file is free.
        Assert.Equal("ok", await pod.AskAsync("lockf"));
        await program.WriteLineAsync("killwaiter");
        Assert.Equal("ok", await program.ReadLineAsync(Patience));
        Assert.Equal("ok", await pod.AskAsync("unlockf"));
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal("free 0", await pod.AskAsync("getlk"));

        // F_SETLKW waits while the pod holds the lock and gets it once the pod lets go.
        Assert.Equal("ok", await pod.AskAsync("lockf"));
        await program.WriteLineAsync("wait");
        Assert.Equal("waiting", await program.ReadLineAsync(Patience));
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.False(program.SoFar.Stdout.Contains("waiting\nok", StringComparison.Ordinal), program.SoFar.ToString());
        Assert.Equal("ok", await pod.AskAsync("unlockf"));
        Assert.Equal("ok", await program.ReadLineAsync(Patience));
        Assert.Equal("write -1", await pod.AskAsync("getlk"));

        await program.WriteLineAsync("exit");
        var result = await program.WaitAsync(Patience);
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task ASignalHandlerRunsWhileALockWaitsAndCanGiveTheWaitUp()
    {
        await using var directory = PodDirectory.Make(fixture, "signal");
        var path = directory.Path + "/data";
        await File.WriteAllTextAsync(fixture.Bff.HostPath(path), "records\n");
        var locker = fixture.WriteFile("locker.py", Locker);

        await using var pod = await PodLocker.StartAsync(fixture.Bff.HostPath(path), locker);
        await using var program = DoppelExecProcess.Start(
            RepoPaths.Doppel, fixture.Cluster.Developer.Name, ["-t", Target, "--fs-mode", "write", "--", ClusterFixture.Python, locker, path], fixture.WorkDirectory, keepStdinOpen: true);
        Assert.Equal("open", await program.ReadLineAsync(Patience));

        // The pod holds both kinds of lock: an alarm ends the program's waiting F_SETLKW and flock
        // while the pod still holds them (on Linux too: the handler raises, so the call fails).
        Assert.Equal("ok", await pod.AskAsync("lockf"));
        Assert.Equal("ok", await pod.AskAsync("flock"));
        await program.WriteLineAsync("alarmlockf");
        Assert.Equal("timeout", await program.ReadLineAsync(Patience));
        await program.WriteLineAsync("alarmflock");
        Assert.Equal("timeout", await program.ReadLineAsync(Patience));
        await program.WriteLineAsync("getlk");
        Assert.Equal($"write {pod.Pid}", await program.ReadLineAsync(Patience));

        // A handler that returns runs during the wait, and the wait goes on until the pod lets go.
        await program.WriteLineAsync("tickwait");
        Assert.Equal("tick", await program.ReadLineAsync(Patience));
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Assert.False(program.SoFar.Stdout.Contains("tick\nok", StringComparison.Ordinal), program.SoFar.ToString());
        Assert.Equal("ok", await pod.AskAsync("unlockf"));
        Assert.Equal("ok", await program.ReadLineAsync(Patience));
        Assert.Equal("write -1", await pod.AskAsync("getlk"));

        await program.WriteLineAsync("exit");
        var result = await program.WaitAsync(Patience);
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task SqliteTransactionsOfAPodProcessAndOfTheProgramKeepEveryRow()
    {
        const string PodSide = """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
            db.execute("CREATE TABLE t (who TEXT)")
            db.execute("BEGIN EXCLUSIVE")
            db.execute("INSERT INTO t VALUES ('pod')")
            print("in transaction", flush=True)
            sys.stdin.readline()
            db.execute("COMMIT")
            print("committed", flush=True)
            sys.stdin.readline()
            print(db.execute("PRAGMA integrity_check").fetchone()[0], sorted(r[0] for r in db.execute("SELECT who FROM t")), flush=True)
            """;
        const string ProgramSide = """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
            print("connected", flush=True)
            for _ in range(2):
                sys.stdin.readline()
                try:
                    db.execute("INSERT INTO t VALUES ('program')")
                    print("inserted", flush=True)
                except sqlite3.OperationalError as e:
                    print(e, flush=True)
            """;
        await using var directory = PodDirectory.Make(fixture, "sqlite");
        var path = directory.Path + "/app.db";

        await using var pod = await PodLocker.StartAsync(fixture.Bff.HostPath(path), fixture.WriteFile("pod-sqlite.py", PodSide), waitFor: "in transaction");
        await using var program = DoppelExecProcess.Start(
            RepoPaths.Doppel, fixture.Cluster.Developer.Name, ["-t", Target, "--fs-mode", "write", "--", ClusterFixture.Python, fixture.WriteFile("program-sqlite.py", ProgramSide), path], fixture.WorkDirectory, keepStdinOpen: true);
        Assert.Equal("connected", await program.ReadLineAsync(Patience));

        // The pod's EXCLUSIVE transaction holds the database: the program's insert is refused.
        await program.WriteLineAsync("");
        Assert.Equal("database is locked", await program.ReadLineAsync(Patience));

        // Committed in the pod: the program's insert goes in, and the pod's row stays.
        Assert.Equal("committed", await pod.AskAsync(""));
        await program.WriteLineAsync("");
        Assert.Equal("inserted", await program.ReadLineAsync(Patience));
        var result = await program.WaitAsync(Patience);
        Assert.True(result.ExitCode == 0, result.ToString());

        Assert.Equal("ok ['pod', 'program']", await pod.AskAsync(""));
    }

    [Fact]
    public async Task WalModeOnAPodDatabaseFailsWithSqlitesOwnErrorAndLeavesItIntact()
    {
        const string ProgramSide = """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
            try:
                print(db.execute("PRAGMA journal_mode=WAL").fetchone()[0])
                db.execute("INSERT INTO t VALUES ('program')")
                print("inserted")
            except sqlite3.OperationalError as e:
                print(e)
            """;
        await using var directory = PodDirectory.Make(fixture, "wal");
        var path = directory.Path + "/app.db";
        var hostPath = fixture.Bff.HostPath(path);
        await RunPythonAsync("import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute(\"CREATE TABLE t (who TEXT)\"); db.execute(\"INSERT INTO t VALUES ('pod')\"); db.commit()", hostPath);

        var result = await fixture.ExecAsync(["-t", Target, "--fs-mode", "write", "--", ClusterFixture.Python, fixture.WriteFile("program-wal.py", ProgramSide), path]);

        // SQLite takes the pragma (it only marks the database), and fails at the first use of the WAL index.
        result.AssertSucceededWith("wal\nunable to open database file\n");
        // A database already in WAL mode is refused from its first statement.
        var again = await fixture.ExecAsync(["-t", Target, "--fs-mode", "write", "--", ClusterFixture.Python, fixture.WriteFile("program-wal.py", ProgramSide), path]);
        again.AssertSucceededWith("unable to open database file\n");

        // Intact, without the program's row; the pragma's mark (the header's WAL version) reached the
        // pod, so pod processes go on in WAL mode with their own index.
        Assert.Equal("ok ['pod'] wal\n", await RunPythonAsync("import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); print(db.execute('PRAGMA integrity_check').fetchone()[0], [r[0] for r in db.execute('SELECT who FROM t')], db.execute('PRAGMA journal_mode').fetchone()[0])", hostPath));
    }

    [Fact]
    public async Task TwoSessionsContendForOneFlockInThePod()
    {
        await using var directory = PodDirectory.Make(fixture, "two");
        var path = directory.Path + "/lock";
        await File.WriteAllTextAsync(fixture.Bff.HostPath(path), "");
        var locker = fixture.WriteFile("locker.py", Locker);

        // The second session starts the agent (killing a session kills its child processes, and the
        // agent is the child of the session that started it); the first joins it.
        await using var second = DoppelExecProcess.Start(
            RepoPaths.Doppel, fixture.Cluster.Developer.Name, ["-t", Target, "--fs-mode", "read", "--", ClusterFixture.Python, locker, path, "rb"], fixture.WorkDirectory, keepStdinOpen: true);
        Assert.Equal("open", await second.ReadLineAsync(Patience));
        var first = DoppelExecProcess.Start(
            RepoPaths.Doppel, fixture.Cluster.Developer.Name, ["-t", Target, "--fs-mode", "write", "--", ClusterFixture.Python, locker, path], fixture.WorkDirectory, keepStdinOpen: true);
        var firstEnded = false;
        try
        {
            Assert.Equal("open", await first.ReadLineAsync(Patience));

            await first.WriteLineAsync("flock");
            Assert.Equal("ok", await first.ReadLineAsync(Patience));
            await second.WriteLineAsync("flock");
            Assert.Equal("EAGAIN", await second.ReadLineAsync(Patience));

            // The first session is killed (no unlock, no close): the agent drops its locks with its connection.
            firstEnded = true;
            await first.DisposeAsync();
            var deadline = DateTime.UtcNow + Patience;
            string? answer;
            while (true)
            {
                await second.WriteLineAsync("flock");
                answer = await second.ReadLineAsync(Patience);
                if (answer == "ok" || DateTime.UtcNow > deadline)
                {
                    break;
                }

                await Task.Delay(200);
            }

            Assert.Equal("ok", answer);
            await second.WriteLineAsync("exit");
            var result = await second.WaitAsync(Patience);
            Assert.True(result.ExitCode == 0, result.ToString());
        }
        finally
        {
            if (!firstEnded)
            {
                await first.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Issue P9: the program and a pod process take turns on a counter in a pod file, each time
    /// open, lock, read, write the value plus its step, unlock: no update is lost, also when a turn
    /// leaves the file's size as it was (a stale copy read after a pod change of the same size lost
    /// the pod's update).
    /// </summary>
    [Theory]
    [InlineData("flock")]
    [InlineData("lockf")]
    public async Task ACounterIncrementedInTurnsByThePodAndTheProgramUnderLocksLosesNoUpdate(string kind)
    {
        const int Rounds = 40;
        await using var directory = PodDirectory.Make(fixture, "counter-" + kind);
        var path = directory.Path + "/counter";
        var hostPath = fixture.Bff.HostPath(path);
        await File.WriteAllTextAsync(hostPath, "0");
        var script = fixture.WriteFile("counter.py", Counter);

        await using var pod = await PodLocker.StartAsync(hostPath, script);
        await using var program = DoppelExecProcess.Start(
            RepoPaths.Doppel, fixture.Cluster.Developer.Name, ["-t", Target, "--fs-mode", "write", "--", ClusterFixture.Python, script, path], fixture.WorkDirectory, keepStdinOpen: true);
        Assert.Equal("open", await program.ReadLineAsync(Patience));

        await program.WriteLineAsync($"1 {kind} {Rounds}");
        var podDone = pod.AskAsync($"100 {kind} {Rounds}");
        Assert.Equal("done", await program.ReadLineAsync(Patience));
        Assert.Equal("done", await podDone);
        var result = await program.WaitAsync(Patience);
        Assert.True(result.ExitCode == 0, result.ToString());

        Assert.Equal((Rounds * 101).ToString(System.Globalization.CultureInfo.InvariantCulture), await File.ReadAllTextAsync(hostPath));
    }

    /// <summary>
    /// Issue P9's shell form: flock(1) locks, its command reads the counter and writes it back
    /// (sent at that command's close), and the lock goes with flock's own close, no unlock call:
    /// no update of the pod process's in between is lost.
    /// </summary>
    [Fact]
    public async Task ACounterIncrementedInTurnsByThePodAndFlockCommandsLosesNoUpdate()
    {
        const int Rounds = 20;
        await using var directory = PodDirectory.Make(fixture, "counter-shell");
        var path = directory.Path + "/counter";
        var hostPath = fixture.Bff.HostPath(path);
        await File.WriteAllTextAsync(hostPath, "0");

        await using var pod = await PodLocker.StartAsync(hostPath, fixture.WriteFile("counter.py", Counter));
        var loop = $"echo open; read go; for i in $(seq {Rounds}); do flock {path} sh -c 'read n <{path}; echo $((n+1)) >{path}'; sleep 0.03; done; echo done";
        await using var program = DoppelExecProcess.Start(
            RepoPaths.Doppel, fixture.Cluster.Developer.Name, ["-t", Target, "--fs-mode", "write", "--", "sh", "-c", loop], fixture.WorkDirectory, keepStdinOpen: true);
        Assert.Equal("open", await program.ReadLineAsync(Patience));

        await program.WriteLineAsync("go");
        var podDone = pod.AskAsync($"100 flock {Rounds}");
        Assert.Equal("done", await program.ReadLineAsync(Patience));
        Assert.Equal("done", await podDone);
        var result = await program.WaitAsync(Patience);
        Assert.True(result.ExitCode == 0, result.ToString());

        Assert.Equal((Rounds * 101).ToString(System.Globalization.CultureInfo.InvariantCulture), (await File.ReadAllTextAsync(hostPath)).Trim());
    }

    /// <summary>Runs a python one-liner as a pod process (on the pod file's host path) and returns its stdout.</summary>
    private static async Task<string> RunPythonAsync(string code, string hostPath)
    {
        var info = new ProcessStartInfo(ClusterFixture.Python, ["-c", code, hostPath]) { RedirectStandardOutput = true };
        using var process = Process.Start(info)!;
        var output = await process.StandardOutput.ReadToEndAsync().WaitAsync(Patience);
        await process.WaitForExitAsync().WaitAsync(Patience);
        Assert.Equal(0, process.ExitCode);
        return output;
    }

    /// <summary>flock(1) -n on a host path (the pod's file): its exit code, 1 when the lock is held elsewhere.</summary>
    private static async Task<int> HostFlockAsync(string hostPath)
    {
        using var process = Process.Start("flock", ["-n", hostPath, "true"]);
        await process.WaitForExitAsync().WaitAsync(Patience);
        return process.ExitCode;
    }

    /// <summary>A python process holding a pod file open (through the host's view of the pod's root), driven a line at a time; killed at the end.</summary>
    private sealed class PodLocker : IAsyncDisposable
    {
        private readonly Process _process;

        private PodLocker(Process process) => _process = process;

        public int Pid => _process.Id;

        public static async Task<PodLocker> StartAsync(string hostPath, string script, string waitFor = "open")
        {
            var info = new ProcessStartInfo(ClusterFixture.Python, [script, hostPath])
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            var locker = new PodLocker(Process.Start(info)!);
            var first = await locker._process.StandardOutput.ReadLineAsync().WaitAsync(Patience);
            if (first != waitFor)
            {
                await locker.DisposeAsync();
                Assert.Fail($"the pod-side process said '{first}', not '{waitFor}': {await locker._process.StandardError.ReadToEndAsync()}");
            }

            return locker;
        }

        public async Task<string?> AskAsync(string command)
        {
            await _process.StandardInput.WriteLineAsync(command);
            await _process.StandardInput.FlushAsync();
            return await _process.StandardOutput.ReadLineAsync().WaitAsync(Patience);
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
        }
    }
}
