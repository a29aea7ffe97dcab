using System.Net;
using System.Text;
using Doppel.Agent.Incoming;
using Doppel.Config;
using Doppel.Protocol.Incoming;
using Doppel.Protocol.V1;
using Doppel.Session.Incoming;

namespace Doppel.Session.Tests.Incoming;

/// <summary>
/// HTTP filters as mirrord's users write them, loaded as the CLI loads them, converted for the
/// agent, and run by the agent's matcher: the whole path a filter takes except the wire.
/// </summary>
public sealed class HttpFilterProtoTests
{
    private static HttpFilterConfig Load(string json, IReadOnlyDictionary<string, string>? env = null)
    {
        var dir = Directory.CreateTempSubdirectory("doppel-filter-");
        try
        {
            var file = Path.Combine(dir.FullName, "mirrord.json");
            File.WriteAllText(file, json);
            return ConfigLoader.Load(new ConfigLoadOptions
            {
                ConfigFile = file,
                Environment = name => env is not null && env.TryGetValue(name, out var value) ? value : null,
                WorkingDirectory = dir.FullName,
                TargetChosenLater = true, // the seed steals; its users give the target with -t
                JsonPathCheck = query => JsonPathQuery.TryParse(query, out _, out var problem) ? null : problem,
            }).Config.Feature.Network.Incoming.HttpFilter;
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static HttpFilterMatcher Matcher(HttpFilterConfig config) => HttpFilterMatcher.Compile(HttpFilterProto.FromConfig(config)!, new FilterCounters());

    private static HttpRequestView Request(string method, string target, params string[] headers)
    {
        var question = target.IndexOf('?', StringComparison.Ordinal);
        return new HttpRequestView
        {
            Method = method,
            Path = question < 0 ? target : target[..question],
            Query = question < 0 ? null : target[(question + 1)..],
            Headers = [.. headers.Select(h => h.Split(": ", 2)).Select(p => new KeyValuePair<string, string>(p[0], p[1]))],
            HttpVersion = HttpVersion.Version11,
        };
    }

    private static string RepoFile(params string[] parts)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "doppel.slnx")))
            {
                return Path.Combine([dir.FullName, .. parts]);
            }
        }

        throw new InvalidOperationException("doppel.slnx not found above the test directory.");
    }

    [Fact]
    public void NoFilterConvertsToNothing() => Assert.Null(HttpFilterProto.FromConfig(new HttpFilterConfig { Ports = [80] }));

    [Fact]
    public void EachKindConvertsToItsProtocolCase()
    {
        Assert.Equal(new HttpFilter { Header = "^x: 1$" }, HttpFilterProto.FromConfig(new HttpFilterConfig { HeaderFilter = "^x: 1$" }));
        Assert.Equal(new HttpFilter { Path = "^/api" }, HttpFilterProto.FromConfig(new HttpFilterConfig { PathFilter = "^/api" }));
        Assert.Equal(new HttpFilter { Method = "POST" }, HttpFilterProto.FromConfig(new HttpFilterConfig { MethodFilter = "POST" }));
        Assert.Equal(
            new HttpFilter { JsonBody = new HttpJsonBodyFilter { Query = "$.a", Matches = "b" } },
            HttpFilterProto.FromConfig(new HttpFilterConfig { BodyFilter = new HttpBodyFilterConfig { Query = "$.a", Matches = "b" } }));
    }

    [Fact]
    public void AllOfAndAnyOfKeepTheirRulesInOrder()
    {
        var config = Load("""
            {"feature": {"network": {"incoming": {"http_filter": {"any_of": [
              {"header": "^x-debug-session: 121212$"},
              {"path": "^/api/my-endpoint$"},
              {"method": "post"},
              {"body": "json", "query": "$.user", "matches": "^alice$"}]}}}}}
            """);

        var filter = HttpFilterProto.FromConfig(config)!;

        Assert.Equal(HttpFilter.KindOneofCase.AnyOf, filter.KindCase);
        Assert.Equal(
            [HttpFilter.KindOneofCase.Header, HttpFilter.KindOneofCase.Path, HttpFilter.KindOneofCase.Method, HttpFilter.KindOneofCase.JsonBody],
            filter.AnyOf.Filters.Select(f => f.KindCase));
        Assert.Equal("$.user", filter.AnyOf.Filters[3].JsonBody.Query);
    }

    [Fact]
    public void AFilterDescribesItselfInOneLineForTheProgressLine()
    {
        var filter = new HttpFilter
        {
            AllOf = new HttpFilterList
            {
                Filters =
                {
                    new HttpFilter { Header = "^X-Dev-User: alice$" },
                    new HttpFilter { AnyOf = new HttpFilterList { Filters = { new HttpFilter { Path = "^/api" }, new HttpFilter { Method = "POST" } } } },
                    new HttpFilter { JsonBody = new HttpJsonBodyFilter { Query = "$.user", Matches = "^alice$" } },
                },
            },
        };

        Assert.Equal("^X-Dev-User: alice$", HttpFilterProto.Describe(new HttpFilter { Header = "^X-Dev-User: alice$" }));
        Assert.Equal("all_of(^X-Dev-User: alice$, any_of(path ^/api, method POST), body $.user ^alice$)", HttpFilterProto.Describe(filter));
    }

    [Fact]
    public void TheMultiDeveloperSeedTakesOnlyItsDevelopersRequests()
    {
        var json = File.ReadAllText(RepoFile("tests", "Doppel.Config.Tests", "Examples", "seed-multi-developer.json"));
        var alice = Load(json, new Dictionary<string, string> { ["USER"] = "alice" });
        var bob = Load(json, new Dictionary<string, string> { ["USER"] = "bob" });

        Assert.Equal(new HttpFilter { Header = "^X-Dev-User: alice$" }, HttpFilterProto.FromConfig(alice));
        Assert.True(Matcher(alice).Matches(Request("GET", "/", "X-Dev-User: alice"), null));
        Assert.False(Matcher(alice).Matches(Request("GET", "/", "X-Dev-User: bob"), null));
        Assert.False(Matcher(alice).Matches(Request("GET", "/"), null));
        Assert.True(Matcher(bob).Matches(Request("GET", "/", "x-dev-user: BOB"), null));
        Assert.False(Matcher(alice).Matches(Request("GET", "/healthz", "User-Agent: kube-probe/1.31", "X-Dev-User: alice"), null));
    }

    [Fact]
    public void MirrordsDocumentedExamplesMatchAsMirrordDescribesThem()
    {
        // mirrord-config http_filter.rs doc comments, and the JSON body page's orders example.
        var hostApi = Matcher(Load("""{"feature": {"network": {"incoming": {"http_filter": {"header_filter": "host: api\\..+"}}}}}"""));
        var notHealth = Matcher(Load("""{"feature": {"network": {"incoming": {"http_filter": {"path_filter": "^(?!/health/)"}}}}}"""));
        var debugEndpoint = Matcher(Load("""{"feature": {"network": {"incoming": {"http_filter": {"all_of": [{"header": "^x-debug-session: 121212$"}, {"path": "^/api/my-endpoint$"}]}}}}}"""));
        var orders = Matcher(Load("""{"feature": {"network": {"incoming": {"http_filter": {"all_of": [{"path": "/orders"}, {"body": "json", "query": "$..price", "matches": "99$"}]}}}}}"""));
        using var requestA = RequestBodyOf("""{"orderId": "123", "items": [{"name": "A", "price": 199}, {"name": "B", "price": 42}]}""");
        using var requestB = RequestBodyOf("""{"orderId": "124", "items": [{"name": "A", "price": 150}, {"name": "B", "price": 42}]}""");

        Assert.True(hostApi.Matches(Request("GET", "/", "Host: api.example.com"), null));
        Assert.False(hostApi.Matches(Request("GET", "/", "Host: web.example.com"), null));
        Assert.True(notHealth.Matches(Request("GET", "/api"), null));
        Assert.False(notHealth.Matches(Request("GET", "/health/live"), null));
        Assert.True(debugEndpoint.Matches(Request("GET", "/api/my-endpoint", "x-debug-session: 121212"), null));
        Assert.False(debugEndpoint.Matches(Request("GET", "/api/my-endpoint"), null));
        Assert.True(orders.Matches(Request("POST", "/orders", "Content-Type: application/json"), requestA));
        Assert.False(orders.Matches(Request("POST", "/orders", "Content-Type: application/json"), requestB));
        Assert.False(orders.Matches(Request("POST", "/payments", "Content-Type: application/json"), requestA));
    }

    [Fact]
    public void AQueryTheAgentCannotEvaluateIsAConfigurationErrorWithItsLine()
    {
        var e = Assert.Throws<ConfigException>(() => Load("{\"feature\": {\"network\": {\"incoming\": {\"http_filter\": {\"body_filter\": {\"body\": \"json\",\n\"query\": \"$.items[?(typeof(@.price) == 'number')].price\", \"matches\": \"99$\"}}}}}}"));

        var error = Assert.Single(e.Errors);
        Assert.Equal(("feature.network.incoming.http_filter.body_filter.query", 2), (error.KeyPath, error.Position!.Value.Line));
        Assert.Contains("filter selectors ([?...]) are not supported", error.Message, StringComparison.Ordinal);
    }

    private static RequestBody RequestBodyOf(string json) => RequestBody.FromBytes(Encoding.UTF8.GetBytes(json));
}
