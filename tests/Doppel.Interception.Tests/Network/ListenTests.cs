using System.Net;
using Doppel.Interception.Policy;
using Doppel.Interception.Tests.Support;

namespace Doppel.Interception.Tests.Network;

public sealed class ListenTests
{
    [Fact]
    public async Task ListeningPortsAreReportedAndAPrivilegedPortCanBeRemapped()
    {
        var policy = new TestPolicy
        {
            Families = SyscallFamilies.Listen,
            PortMap = new Dictionary<int, int> { [80] = 18080 },
        };
        var script = """
            import socket
            a = socket.socket(); a.bind(("127.0.0.1", 80)); a.listen()
            b = socket.socket(socket.AF_INET6); b.bind(("::1", 18181)); b.listen()
            print(a.getsockname()[1], b.getsockname()[1])
            """;

        var result = await Run.IsolatedAsync(Run.Options("python3", "-c", script), policy, new DirectoryRemote("/nonexistent"));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("18080 18181\n", result.Stdout);
        Assert.Equal(
            [(new IPEndPoint(IPAddress.Loopback, 18080), 80), (new IPEndPoint(IPAddress.IPv6Loopback, 18181), 18181)],
            policy.Listening.ToArray());
    }

    [Fact]
    public async Task AMoveOntoATakenPortFailsTheAppsBindWithEaddrinuseAndIsReported()
    {
        var policy = new TestPolicy
        {
            Families = SyscallFamilies.Listen,
            PortMap = new Dictionary<int, int> { [81] = 18090 },
        };
        var script = """
            import socket
            taken = socket.socket(); taken.bind(("127.0.0.1", 18090)); taken.listen()
            moved = socket.socket()
            try:
                moved.bind(("127.0.0.1", 81))
                print("bound")
            except OSError as e:
                print(e.errno)
            """;

        var result = await Run.IsolatedAsync(Run.Options("python3", "-c", script), policy, new DirectoryRemote("/nonexistent"));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("98\n", result.Stdout);
        Assert.Equal([(81, 18090, 98)], policy.BindMovesFailed.ToArray());
    }
}
