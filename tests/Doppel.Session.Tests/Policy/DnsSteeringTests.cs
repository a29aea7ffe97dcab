using Doppel.Config;
using Doppel.Session.Policy;

namespace Doppel.Session.Tests.Policy;

public sealed class DnsSteeringTests
{
    [Theory]
    [InlineData("""{"feature":{"network":{"outgoing":{"filter":{"local":["db.example.com"]}}}}}""", "db.example.com", true)]
    [InlineData("""{"feature":{"network":{"outgoing":{"filter":{"local":["db.example.com"]}}}}}""", "backend.default.svc.cluster.local", false)]
    [InlineData("""{"feature":{"network":{"outgoing":{"filter":{"local":["tcp://DB.example.com:5432"]}}}}}""", "db.example.com.default.svc.cluster.local", true)]
    [InlineData("""{"feature":{"network":{"outgoing":{"filter":{"local":["db.example.com"]}}}}}""", "db.example.community", false)]
    [InlineData("""{"feature":{"network":{"outgoing":{"filter":{"local":["10.0.0.0/8", ":5432"]}}}}}""", "db.example.com", false)]
    [InlineData("""{"feature":{"network":{"outgoing":{"filter":{"remote":["backend"]}}}}}""", "other.example.com", false)]
    [InlineData("""{"feature":{"network":{"outgoing":{"filter":{"remote":["backend"]}},"dns":{"filter":{"remote":["api"]}}}}}""", "backend.default.svc.cluster.local", false)]
    [InlineData("""{"feature":{"network":{"outgoing":{"filter":{"remote":["backend"]}},"dns":{"filter":{"remote":["api"]}}}}}""", "api", false)]
    [InlineData("""{"feature":{"network":{"outgoing":{"filter":{"remote":["backend"]}},"dns":{"filter":{"remote":["api"]}}}}}""", "laptop.lan", true)]
    [InlineData("""{"feature":{"network":{"outgoing":{"filter":{"local":["db"]}},"dns":{"filter":{"local":["*.corp.example"]}}}}}""", "wiki.corp.example", true)]
    [InlineData("""{"feature":{"network":{"outgoing":{"filter":{"local":["db"]}},"dns":{"filter":{"local":["*.corp.example"]}}}}}""", "db", true)]
    [InlineData("""{"feature":{"network":{"dns":{"filter":{"local":["*.corp.example"]}}}}}""", "corp.example", false)]
    [InlineData("""{"feature":{"network":{"dns":{"filter":{"remote":[]}}}}}""", "anything", true)]
    public void OutgoingFilterNamesSteerTheirDnsToTheSameSide(string json, string query, bool local)
    {
        var steering = DnsSteering.From(Load(json));

        Assert.Equal(local, steering.ResolvesLocally(query));
        Assert.Empty(steering.Warnings);
    }

    [Fact]
    public void WithoutFiltersEveryQueryGoesToTheTarget()
    {
        var steering = DnsSteering.From(Load("{}"));

        Assert.False(steering.IsFiltered);
        Assert.False(steering.ResolvesLocally("db.example.com"));
    }

    [Theory]
    [InlineData("""{"feature":{"network":{"outgoing":{"filter":{"local":["db.example.com","cache"]}},"dns":{"filter":{"remote":["db.example.com"]}}}}}""",
        "feature.network.outgoing.filter sends db.example.com through the local side, but feature.network.dns.filter resolves it remotely: the address the program gets may mean nothing where it connects; list it on the same side in both filters.",
        "db.example.com", false)]
    [InlineData("""{"feature":{"network":{"outgoing":{"filter":{"remote":["backend"]}},"dns":{"filter":{"local":["backend","laptop"]}}}}}""",
        "feature.network.outgoing.filter sends backend through the remote side, but feature.network.dns.filter resolves it locally: the address the program gets may mean nothing where it connects; list it on the same side in both filters.",
        "backend", true)]
    public void ContradictingFiltersWarnAndTheDnsFilterDecides(string json, string warning, string query, bool local)
    {
        var steering = DnsSteering.From(Load(json));

        Assert.Equal([warning], steering.Warnings);
        Assert.Equal(local, steering.ResolvesLocally(query));
    }

    private static DoppelConfig Load(string json)
    {
        var dir = Directory.CreateTempSubdirectory("doppel-dns-");
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
