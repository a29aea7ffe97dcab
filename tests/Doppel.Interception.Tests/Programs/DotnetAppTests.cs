using System.Diagnostics;
using System.Net;
using Doppel.Interception.Policy;
using Doppel.Interception.Tests.Support;

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

    public sealed class DotnetApp : IDisposable
    {
        private const string Project = """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <InvariantGlobalization>true</InvariantGlobalization>
              </PropertyGroup>
            </Project>
            """;

        private const string Source = """
            Console.WriteLine(File.ReadAllText(args[0]));
            Console.WriteLine(string.Join(",", Directory.GetFiles(args[1]).Select(Path.GetFileName).Order()));
            using var http = new HttpClient();
            Console.WriteLine(await http.GetStringAsync(args[2]));
            """;

        private readonly string _directory = Directory.CreateTempSubdirectory("doppel-dotnet-app-").FullName;

        public DotnetApp()
        {
            File.WriteAllText(System.IO.Path.Combine(_directory, "app.csproj"), Project);
            File.WriteAllText(System.IO.Path.Combine(_directory, "Program.cs"), Source);
            var build = new ProcessStartInfo("dotnet", "build -c Release -o out -nologo --disable-build-servers")
            {
                WorkingDirectory = _directory,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            using var dotnet = Process.Start(build)!;
            var output = dotnet.StandardOutput.ReadToEnd();
            dotnet.WaitForExit();
            if (dotnet.ExitCode != 0)
            {
                throw new InvalidOperationException("dotnet build failed: " + output);
            }

            Path = System.IO.Path.Combine(_directory, "out", "app");
        }

        public string Path { get; }

        public void Dispose() => Directory.Delete(_directory, recursive: true);
    }
}
