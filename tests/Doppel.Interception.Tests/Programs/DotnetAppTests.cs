using System.Net;
using Doppel.Interception.Policy;
using Doppel.Interception.Tests.Support;
using Doppel.Testing;

namespace Doppel.Interception.Tests.Programs;

/// <summary>A .NET console app (non-blocking sockets on epoll, its own file APIs) under doppel.</summary>
public sealed class DotnetAppTests : IClassFixture<DotnetAppTests.DotnetApp>
{
    private readonly DotnetApp _app;

    public DotnetAppTests(DotnetApp app) => _app = app;

    [Fact]
    public async Task DotnetAppReadsRemoteFilesAndCallsARemoteServiceWithHttpClient()
    {
        using var fs = new RemoteFileSystem();
        var settings = fs.Write("cfg/settings.txt", "setting=remote");
        fs.Write("cfg/extra.txt", "x");
        using var server = new Holder<LoopbackHttpServer>();
        var destination = new IPEndPoint(IPAddress.Parse("192.0.2.30"), 80);
        var policy = fs.Policy(SyscallFamilies.FilesRead | SyscallFamilies.Outgoing) with
        {
            RemoteAddresses = new HashSet<IPAddress> { destination.Address },
        };

        var result = await Run.IsolatedAsync(
            Run.Options(_app.Path, settings, fs.Prefix + "/cfg", "http://192.0.2.30/api"),
            policy,
            fs.Remote,
            setup: () =>
            {
                server.Value = new LoopbackHttpServer("hello dotnet");
                fs.Remote.AddService(destination, server.Value.EndPoint);
            });

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("setting=remote\nextra.txt,settings.txt\nhello dotnet\n", result.Stdout);
    }

    public sealed class DotnetApp : IAsyncLifetime
    {
        private const string Source = """
            Console.WriteLine(File.ReadAllText(args[0]));
            Console.WriteLine(string.Join(",", Directory.GetFiles(args[1]).Select(Path.GetFileName).Order()));
            using var http = new HttpClient();
            Console.WriteLine(await http.GetStringAsync(args[2]));
            """;

        private readonly string _directory = Directory.CreateTempSubdirectory("doppel-dotnet-app-").FullName;

        public string Path { get; private set; } = string.Empty;

        public async Task InitializeAsync() => Path = await DotnetProgram.BuildAsync(_directory, "app", Source, CancellationToken.None);

        public Task DisposeAsync()
        {
            Directory.Delete(_directory, recursive: true);
            return Task.CompletedTask;
        }
    }
}
