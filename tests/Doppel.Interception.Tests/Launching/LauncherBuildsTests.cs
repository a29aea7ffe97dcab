using System.Net;
using Doppel.Interception.Policy;
using Doppel.Interception.Tests.Support;

namespace Doppel.Interception.Tests.Launching;

/// <summary>
/// The launcher is the doppel binary itself: these run through the JIT build beside the tests
/// and, when scripts/test.sh provides it (DOPPEL_AOT_BINARY), through the NativeAOT build.
/// </summary>
public sealed class LauncherBuildsTests
{
    public static TheoryData<string> Builds
    {
        get
        {
            var builds = new TheoryData<string> { "jit" };
            if (Environment.GetEnvironmentVariable("DOPPEL_AOT_BINARY") is { Length: > 0 })
            {
                builds.Add("aot");
            }

            return builds;
        }
    }

    [Theory]
    [MemberData(nameof(Builds))]
    public async Task LauncherBuildRunsAProgramWithFilesNetworkAndExitCode(string build)
    {
        using var fs = new RemoteFileSystem();
        var file = fs.Write("f.txt", "remote file\n");
        using var server = new Holder<LoopbackHttpServer>();
        var destination = new IPEndPoint(IPAddress.Parse("192.0.2.40"), 80);
        var policy = fs.Policy(SyscallFamilies.FilesRead | SyscallFamilies.Outgoing) with
        {
            RemoteAddresses = new HashSet<IPAddress> { destination.Address },
        };
        var options = Run.Options("sh", "-c", $"cat {file}; curl -sS http://192.0.2.40/; exit 3") with { LauncherPath = Launcher(build) };

        var result = await Run.IsolatedAsync(options, policy, fs.Remote, setup: () =>
        {
            server.Value = new LoopbackHttpServer("remote service\n");
            fs.Remote.AddService(destination, server.Value.EndPoint);
        });

        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Equal("remote file\nremote service\n", result.Stdout);
    }

    [Theory]
    [MemberData(nameof(Builds))]
    public async Task LauncherBuildReportsAMissingCommand(string build)
    {
        var options = Run.Options("doppel-missing-tool") with { LauncherPath = Launcher(build) };

        var result = await Run.IsolatedAsync(options, new TestPolicy(), new DirectoryRemote("/nonexistent"));

        Assert.Equal(127, result.ExitCode);
        Assert.Equal("doppel: doppel-missing-tool: command not found\n", result.Stderr);
    }

    private static string Launcher(string build)
        => build == "aot" ? Environment.GetEnvironmentVariable("DOPPEL_AOT_BINARY")! : Path.Combine(AppContext.BaseDirectory, "doppel");
}
