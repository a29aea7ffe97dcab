using Doppel.Config;
using Doppel.Interception.Remote;
using Doppel.Session.Agent;
using Doppel.Session.Policy;
using Doppel.Session.Sessions;
using Doppel.Session.Tests.Remote;
using Doppel.Session.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Doppel.Session.Tests.Sessions;

/// <summary>
/// A session started from a configuration and a transport against the real agent: it gives the
/// CLI the program's environment, the policy, a working remote and the line describing the target.
/// </summary>
public sealed class DoppelSessionTests(SessionClusterFixture cluster) : IClassFixture<SessionClusterFixture>
{
    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    [Fact]
    public async Task ASessionGivesTheEnvironmentPolicyRemoteAndDescription()
    {
        await using var agent = await AgentUnderTest.StartAsync($"container/{cluster.Box.ContainerId}");
        var config = Load($$"""{ "target": "container/{{cluster.Box.ContainerId}}", "feature": { "env": { "override": { "FROM_CONFIG": "yes" } } } }""");
        var warnings = new List<string>();
        var options = new SessionOptions
        {
            Config = config,
            Program = "/bin/true",
            WorkingDirectory = "/",
            LocalEnvironment = new Dictionary<string, string> { ["LOCAL_ONLY"] = "kept" },
            ClientVersion = "0.1.0",
            Warn = warnings.Add,
        };

        await using var session = await DoppelSession.StartAsync(options, agent.Endpoint, NullLoggerFactory.Instance, Timeout);
        var entry = await session.Remote.GetEntryAsync("/app/config.json", followSymlinks: true, Timeout);

        Assert.Equal("kept", session.Environment["LOCAL_ONLY"]);
        Assert.Equal("yes", session.Environment["FROM_CONFIG"]);
        Assert.IsType<ConfigPolicy>(session.Policy);
        Assert.NotNull(entry);
        Assert.Equal(RemoteEntryKind.File, entry.Kind);
        Assert.StartsWith($"session: container/{cluster.Box.ContainerId} (pid {cluster.Box.Pid}, container {cluster.Box.ContainerId![..12]}, hostname ", session.Description, StringComparison.Ordinal);
        Assert.Empty(warnings);
    }

    [Fact]
    public async Task AnAgentThatCannotBeReachedIsOneSentenceNamingItsAddress()
    {
        var config = Load("""{ "target": "targetless" }""");
        var nowhere = AgentEndpoint.Unix(Path.Combine(Path.GetTempPath(), $"doppel-no-agent-{Guid.NewGuid():N}.sock"));
        var options = new SessionOptions { Config = config, Program = "/bin/true", WorkingDirectory = "/", LocalEnvironment = new Dictionary<string, string>(), ClientVersion = "0.1.0" };

        var error = await Assert.ThrowsAsync<AgentConnectionException>(() => DoppelSession.StartAsync(options, nowhere, NullLoggerFactory.Instance, Timeout));

        Assert.StartsWith($"cannot talk to the agent at {nowhere.Address}: ", error.Message, StringComparison.Ordinal);
    }

    private static DoppelConfig Load(string json)
    {
        var dir = Directory.CreateTempSubdirectory("doppel-session-");
        try
        {
            var file = Path.Combine(dir.FullName, "mirrord.json");
            File.WriteAllText(file, json);
            return ConfigLoader.Load(new ConfigLoadOptions { ConfigFile = file, Environment = _ => null, WorkingDirectory = dir.FullName }).Config;
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
