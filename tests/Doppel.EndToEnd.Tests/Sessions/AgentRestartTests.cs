using System.Diagnostics;
using Doppel.EndToEnd.Tests.Support;

namespace Doppel.EndToEnd.Tests.Sessions;

/// <summary>
/// The agent dies (SIGKILL) while the app holds a relayed connection: the connection fails at
/// once instead of hanging, doppel starts a new agent, and the app's next connection works.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class AgentRestartTests(ClusterFixture fixture)
{
    // Waits for a flag file (under /tmp: local) between the first connection and the checks after the kill.
    private const string Source = """
        import os, socket, sys, time
        host, port, flag = sys.argv[1], int(sys.argv[2]), sys.argv[3]

        def echo(s, text):
            s.sendall(text.encode())
            data = s.recv(100)
            if not data:
                raise EOFError("end of stream")
            return data.decode()

        old = socket.create_connection((host, port), timeout=10)
        print("first:", echo(old, "one"), flush=True)
        deadline = time.monotonic() + 30
        while not os.path.exists(flag):
            if time.monotonic() > deadline:
                print("no flag", flush=True)
                sys.exit(5)
            time.sleep(0.05)

        old.settimeout(5)
        try:
            result = "still open: " + echo(old, "two")
        except socket.timeout:
            result = "timed out"
        except (EOFError, OSError) as e:
            print("old connection error:", repr(e), file=sys.stderr)
            result = "closed"
        print("old connection:", result, flush=True)

        # Calls made while the new agent is still starting may fail: retry for up to 10 s.
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection((host, port), timeout=10) as new:
                    new.settimeout(10)
                    result = echo(new, "three")
                break
            except Exception as e:
                result = "failed: " + repr(e)
                print("new connection attempt:", result, file=sys.stderr)
                if time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        print("new connection:", result, flush=True)
        """;

    [Fact]
    public async Task KilledAgentBreaksOpenConnectionsQuicklyAndNewConnectionsWorkAfterTheRestart()
    {
        var script = fixture.WriteFile("agent-restart.py", Source);
        var flag = Path.Combine(fixture.WorkDirectory, "agent-killed");
        File.Delete(flag);
        await using var doppel = fixture.Start(
            ["-t", $"pid/{fixture.Bff.Pid}", "--", ClusterFixture.Python, script, ClusterFixture.BackendName, ClusterFixture.TcpEchoPort.ToString(), flag]);

        Assert.Equal("first: one", await doppel.ReadLineAsync(TimeSpan.FromSeconds(30)));
        var agents = AgentChildren(doppel.Pid);
        Assert.True(agents.Count == 1, $"doppel ({doppel.Pid}) should have one doppel-agent child, has: {string.Join(", ", agents)}");
        var killed = agents[0];
        using (var agent = Process.GetProcessById(killed))
        {
            agent.Kill(); // SIGKILL to the agent this test's doppel started, by its PID
        }

        // Give doppel up to 10 s to start the new agent before the app goes on.
        var restarted = await WaitForAsync(() => AgentChildren(doppel.Pid).Any(pid => pid != killed), TimeSpan.FromSeconds(10));
        await File.WriteAllTextAsync(flag, "");
        var result = await doppel.WaitAsync(TimeSpan.FromSeconds(60));

        result.AssertSucceededWith("first: one\nold connection: closed\nnew connection: three\n");
        Assert.True(restarted, "doppel started no new doppel-agent within 10 s of the kill.\n" + result);
        Assert.True(
            result.Stderr.Split('\n').Any(line => line.StartsWith("warning:", StringComparison.Ordinal) && line.Contains($"(pid {killed})", StringComparison.Ordinal)),
            "doppel should warn on stderr that the agent it started died.\n" + result);
    }

    /// <summary>The PIDs of the doppel-agent processes whose parent is <paramref name="parent"/> (from /proc/*/stat).</summary>
    private static List<int> AgentChildren(int parent)
    {
        var children = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }

            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(directory, "stat"));
            }
            catch (IOException)
            {
                continue; // gone meanwhile
            }

            // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses, so split after the last ')'.
            var open = stat.IndexOf('(', StringComparison.Ordinal);
            var close = stat.LastIndexOf(')');
            var comm = stat[(open + 1)..close];
            var fields = stat[(close + 2)..].Split(' ');
            if (comm == "doppel-agent" && fields[0] != "Z" && int.Parse(fields[1]) == parent)
            {
                children.Add(pid);
            }
        }

        return children;
    }

    private static async Task<bool> WaitForAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }
}
