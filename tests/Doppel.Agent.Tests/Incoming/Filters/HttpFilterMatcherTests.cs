using System.Net;
using System.Text;
using Doppel.Agent.Incoming;
using static Doppel.Agent.Tests.Incoming.Filters.Requests;

namespace Doppel.Agent.Tests.Incoming.Filters;

public sealed class HttpFilterMatcherTests
{
    [Fact]
    public void HeaderFilterMatchesAnyHeaderRenderedNameColonValueIgnoringCase()
    {
        var filter = Compile(Header("^X-Dev-User: alice$"));

        Assert.True(filter.Matches(Get("/", "Accept: */*", "x-dev-user: ALICE"), null));
        Assert.False(filter.Matches(Get("/", "X-Dev-User: alice2"), null));
        Assert.False(filter.Matches(Get("/", "X-Other: X-Dev-User: alice"), null));
    }

    [Fact]
    public void Http2AuthorityIsMatchedAsAHostHeader()
    {
        var filter = Compile(Header("^host: api\\..+"));

        Assert.True(filter.Matches(Make("GET", "/", HttpVersion.Version20, "api.example.com", "content-type: application/grpc"), null));
        Assert.True(filter.Matches(Get("/", "Host: api.example.com"), null));
        Assert.False(filter.Matches(Make("GET", "/", HttpVersion.Version20, "web.example.com"), null));
    }

    [Fact]
    public void PathFilterMatchesThePathThenThePathWithItsQuery()
    {
        var anchoredPath = Compile(Path("^/api/users$"));
        var onQuery = Compile(Path("debug=1"));

        Assert.True(anchoredPath.Matches(Get("/api/users?debug=1"), null)); // the path alone
        Assert.True(onQuery.Matches(Get("/api/users?debug=1"), null));      // path?query
        Assert.True(anchoredPath.Matches(Get("/API/Users"), null));
        Assert.False(onQuery.Matches(Get("/api/users?debug=0"), null));
        Assert.True(Compile(Path("^/a\\?$")).Matches(Get("/a?"), null)); // an empty query keeps its '?'
    }

    [Fact]
    public void MethodFilterMatchesTheWholeMethodIgnoringCase()
    {
        Assert.True(Compile(Method("post")).Matches(Make("POST", "/", HttpVersion.Version11, null), null));
        Assert.False(Compile(Method("POS")).Matches(Make("POST", "/", HttpVersion.Version11, null), null));
        Assert.False(Compile(Method("PUT")).Matches(Make("OUTPUT", "/", HttpVersion.Version11, null), null));
        Assert.True(Compile(Method("GET|HEAD")).Matches(Make("HEAD", "/", HttpVersion.Version11, null), null));
    }

    [Fact]
    public void AllOfAndAnyOfNest()
    {
        // (header alice AND (path /api OR method DELETE))
        var filter = Compile(AllOf(Header("^x-dev-user: alice$"), AnyOf(Path("^/api/"), Method("DELETE"))));

        Assert.True(filter.Matches(Get("/api/x", "X-Dev-User: alice"), null));
        Assert.True(filter.Matches(Make("DELETE", "/other", HttpVersion.Version11, null, "X-Dev-User: alice"), null));
        Assert.False(filter.Matches(Get("/other", "X-Dev-User: alice"), null));
        Assert.False(filter.Matches(Get("/api/x", "X-Dev-User: bob"), null));
    }

    [Fact]
    public void KubeProbesNeverMatchAFilterThatDoesNotNameUserAgent()
    {
        var filter = Compile(AnyOf(Path("^/health"), Header("^x-dev-user: alice$")));

        Assert.False(filter.Matches(Get("/healthz", "User-Agent: kube-probe/1.31", "X-Dev-User: alice"), null));
        Assert.True(filter.Matches(Get("/healthz", "User-Agent: curl/8.5.0"), null));
    }

    [Fact]
    public void AFilterNamingUserAgentDecidesAboutProbesItself()
    {
        // mirrord's documented way to leave probes alone, and its opposite.
        var notProbes = Compile(Header("^User-Agent: (?!kube-probe)"));
        var onlyProbes = Compile(AllOf(Path("^/"), Header("user-agent: KUBE-PROBE/")));

        Assert.False(notProbes.Matches(Get("/", "User-Agent: kube-probe/1.31"), null));
        Assert.True(notProbes.Matches(Get("/", "User-Agent: curl/8.5.0"), null));
        Assert.True(notProbes.NamesUserAgent);
        Assert.True(onlyProbes.Matches(Get("/", "User-Agent: kube-probe/1.31"), null));
    }

    [Fact]
    public void JsonBodyFilterMatchesAValueTheQuerySelects()
    {
        var filter = Compile(Json("$.data[*].legacyEntityIds.legacyUserIdentityId", "^identity123$"));
        using var hit = RequestBody.FromBytes(Encoding.UTF8.GetBytes("""{"data": [{"legacyEntityIds": {"legacyUserIdentityId": "other"}}, {"legacyEntityIds": {"legacyUserIdentityId": "identity123"}}]}"""));
        using var miss = RequestBody.FromBytes(Encoding.UTF8.GetBytes("""{"data": [{"legacyEntityIds": {"legacyUserIdentityId": "identity1234"}}]}"""));

        Assert.True(filter.NeedsBody);
        Assert.True(filter.Matches(Get("/"), hit));
        Assert.False(filter.Matches(Get("/"), miss));
        Assert.False(filter.Matches(Get("/"), null)); // not read ahead
    }

    [Fact]
    public void JsonBodyValuesAreStringifiedAndTheRegexKeepsCase()
    {
        // mirrord's example: numbers are stringified ("199"), objects become compact JSON.
        using var body = RequestBody.FromBytes(Encoding.UTF8.GetBytes("""{"items": [{"name": "A", "price": 199}, {"name": "B", "price": 42}], "user": {"id": 7, "name": "Zoë"}}"""));

        Assert.True(Compile(Json("$..price", "99$")).Matches(Get("/"), body));
        Assert.True(Compile(Json("$.user", "^\\{\"id\":7,\"name\":\"Zoë\"\\}$")).Matches(Get("/"), body));
        Assert.False(Compile(Json("$.items[0].name", "^a$")).Matches(Get("/"), body));
        Assert.True(Compile(Json("$.items[0].name", "(?i)^a$")).Matches(Get("/"), body));
    }

    [Fact]
    public void ABodyThatIsNotJsonDoesNotMatchAndIsCounted()
    {
        var counters = new FilterCounters();
        var filter = Compile(Json("$", "."), counters);
        using var text = RequestBody.FromBytes(Encoding.UTF8.GetBytes("name=alice"));
        using var empty = RequestBody.FromBytes(ReadOnlyMemory<byte>.Empty);

        Assert.False(filter.Matches(Get("/"), text));
        Assert.False(filter.Matches(Get("/"), empty));
        Assert.Equal(2, counters.BodiesNotJson);
    }

    [Fact]
    public void ABodyOverTheLimitDoesNotMatchAndIsCounted()
    {
        var counters = new FilterCounters();
        var filter = Compile(AnyOf(Json("$.a", "."), Path("^/never$")), counters);
        using var tooLarge = RequestBody.Unusable(BodyBufferOutcome.TooLarge);
        using var late = RequestBody.Unusable(BodyBufferOutcome.TimedOut);

        Assert.False(filter.Matches(Get("/"), tooLarge));
        Assert.False(filter.Matches(Get("/"), late));
        Assert.Equal((1, 1), (counters.BodiesTooLarge, counters.BodiesTimedOut));
    }

    [Fact]
    public void ARegexThatRunsPastTheTimeOutIsNoMatchAndIsCounted()
    {
        // Exponential backtracking: (x+x+)+y on a run of x without a y never finishes in time.
        var counters = new FilterCounters();
        var filter = HttpFilterMatcher.Compile(Header("(x+x+)+y"), counters, TimeSpan.FromMilliseconds(20));

        Assert.False(filter.Matches(Get("/", "X-Payload: " + new string('x', 64)), null));
        Assert.True(counters.RegexTimeouts >= 1);
        Assert.True(filter.Matches(Get("/", "X-Payload: xxy"), null));
    }

    [Theory]
    [InlineData("(unclosed", "filter.header: '(unclosed' is not a valid regular expression")]
    [InlineData("", "filter.header: the regex is empty")]
    public void AnInvalidHeaderRegexIsRefusedWithItsPlace(string regex, string start)
    {
        var e = Assert.Throws<InvalidHttpFilterException>(() => Compile(Header(regex)));

        Assert.StartsWith(start, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MalformedFiltersAreRefusedWithThePathToTheBadPart()
    {
        Assert.StartsWith("filter.any_of[1].all_of: the list is empty", Assert.Throws<InvalidHttpFilterException>(() => Compile(AnyOf(Path("a"), AllOf()))).Message, StringComparison.Ordinal);
        Assert.StartsWith("filter.all_of[0].json_body.query: '$.a[?(@.b)]' is not a JSONPath query", Assert.Throws<InvalidHttpFilterException>(() => Compile(AllOf(Json("$.a[?(@.b)]", "x")))).Message, StringComparison.Ordinal);
        Assert.StartsWith("filter: the filter has no kind", Assert.Throws<InvalidHttpFilterException>(() => Compile(new Doppel.Protocol.V1.HttpFilter())).Message, StringComparison.Ordinal);
        Assert.StartsWith("filter.method: the regex is empty", Assert.Throws<InvalidHttpFilterException>(() => Compile(Method(""))).Message, StringComparison.Ordinal);
    }
}
