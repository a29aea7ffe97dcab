using Doppel.Config.Tests.Support;

namespace Doppel.Config.Tests.Resolution;

/// <summary>HTTP filters as mirrord's users write them bind to the model the session converts for the agent.</summary>
public sealed class HttpFilterConfigTests
{
    [Fact]
    public void MirrordsBodyFilterBindsWithItsQueryAndRegex()
    {
        // metalbear-co/docs, using-mirrord/filtering-by-json-body.md, first example.
        var filter = Load.Text("""
            {"feature": {"network": {"incoming": {"mode": "mirror", "http_filter": {"body_filter": {
              "body": "json", "query": "$.data[*].legacyEntityIds.legacyUserIdentityId", "matches": "^identity123$"}}}}}}
            """).Config.Feature.Network.Incoming.HttpFilter;

        Assert.True(filter.IsSet);
        Assert.Equal(new HttpBodyFilterConfig { Body = "json", Query = "$.data[*].legacyEntityIds.legacyUserIdentityId", Matches = "^identity123$" }, filter.BodyFilter);
    }

    [Fact]
    public void ABodyRuleInAllOfIsWrittenFlatAsInMirrord()
    {
        var filter = Load.Text("""
            {"feature": {"network": {"incoming": {"http_filter": {"all_of": [
              {"path": "/orders"},
              {"body": "json", "query": "$..price", "matches": "99$"}]}}}}}
            """).Config.Feature.Network.Incoming.HttpFilter;

        Assert.Equal(2, filter.AllOf!.Count);
        Assert.Equal("/orders", filter.AllOf[0].Path);
        Assert.Null(filter.AllOf[0].BodyFilter);
        Assert.Equal(new HttpBodyFilterConfig { Body = "json", Query = "$..price", Matches = "99$" }, filter.AllOf[1].BodyFilter);
    }

    [Fact]
    public void TheJsonPathCheckTheCliPassesNamesTheQueryAndItsLine()
    {
        using var dir = new TempConfigDirectory();
        var path = dir.Write("doppel.json", "{\"feature\": {\"network\": {\"incoming\": {\"http_filter\": {\"body_filter\": {\n\"body\": \"json\",\n\"query\": \"$.a[?(@.b)]\", \"matches\": \"x\"}}}}}}");

        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(new ConfigLoadOptions
        {
            ConfigFile = path,
            Environment = Load.Env(null),
            WorkingDirectory = dir.Path,
            GitBranch = () => "main",
            JsonPathCheck = query => query.Contains("[?", StringComparison.Ordinal) ? "filter selectors ([?...]) are not supported (at 4)" : null,
        }));

        var error = Assert.Single(e.Errors);
        Assert.Equal(("feature.network.incoming.http_filter.body_filter.query", 3), (error.KeyPath, error.Position!.Value.Line));
        Assert.Equal("'$.a[?(@.b)]' is not a JSONPath query doppel can evaluate: filter selectors ([?...]) are not supported (at 4).", error.Message);
    }

    [Fact]
    public void ARuleWithAStrayQueryKeyIsAnError()
    {
        var error = Assert.Single(Load.Errors("""{"feature": {"network": {"incoming": {"http_filter": {"any_of": [{"header": "a", "query": "$.a"}]}}}}}"""));

        Assert.Equal("feature.network.incoming.http_filter.any_of[0].query", error.KeyPath);
    }
}
