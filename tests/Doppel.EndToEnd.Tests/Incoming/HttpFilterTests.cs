using Doppel.Testing;

namespace Doppel.EndToEnd.Tests.Incoming;

/// <summary>
/// Each kind of HTTP filter end to end: carol's session steals with one filter, and curl in a pod
/// sends a request that matches (carol's app answers) and one that does not (the pod's app
/// answers); probes stay with the pod unless the filter names User-Agent; when two sessions'
/// filters match one request the earlier subscription takes it and the other session is told once.
/// </summary>
[Collection(IncomingCollection.Name)]
public sealed class HttpFilterTests(IncomingFixture cluster) : IClassFixture<IncomingFixture>
{
    [Fact]
    public async Task APathFilterTakesMatchingPathsOnly()
    {
        await using var carol = await StartCarolAsync("path", """{ "path_filter": "^/api/" }""", [Url("/api/ready")]);

        await AssertAnsweredByAsync("carol 1.1 GET /api/users\n", [Url("/api/users")]);
        await AssertAnsweredByAsync("pod 1.1 GET /web/api/users\n", [Url("/web/api/users")]);

        await QuitAsync(carol, [Url("/api/quit")]);
    }

    [Fact]
    public async Task AMethodFilterTakesMatchingMethodsOnly()
    {
        await using var carol = await StartCarolAsync("method", """{ "method_filter": "delete" }""", ["-X", "DELETE", Url("/ready")]);

        await AssertAnsweredByAsync("carol 1.1 DELETE /item\n", ["-X", "DELETE", Url("/item")]);
        await AssertAnsweredByAsync("pod 1.1 GET /item\n", [Url("/item")]);

        await QuitAsync(carol, ["-X", "DELETE", Url("/quit")]);
    }

    [Fact]
    public async Task AnAllOfFilterNeedsEveryPart()
    {
        string[] header = ["-H", "X-Dev-User: carol"];
        await using var carol = await StartCarolAsync("all-of", """{ "all_of": [ { "header": "^X-Dev-User: carol$" }, { "path": "^/api/" } ] }""", [.. header, Url("/api/ready")]);

        await AssertAnsweredByAsync("carol 1.1 GET /api/orders\n", [.. header, Url("/api/orders")]);
        await AssertAnsweredByAsync("pod 1.1 GET /orders\n", [.. header, Url("/orders")]);
        await AssertAnsweredByAsync("pod 1.1 GET /api/orders\n", [Url("/api/orders")]);

        await QuitAsync(carol, [.. header, Url("/api/quit")]);
    }

    [Fact]
    public async Task AnAnyOfFilterNeedsOnePart()
    {
        await using var carol = await StartCarolAsync("any-of", """{ "any_of": [ { "header": "^X-Dev-User: carol$" }, { "method": "put" } ] }""", ["-H", "X-Dev-User: carol", Url("/ready")]);

        await AssertAnsweredByAsync("carol 1.1 PUT /item\n", ["-X", "PUT", "--data", "x", Url("/item")]);
        await AssertAnsweredByAsync("carol 1.1 GET /item\n", ["-H", "X-Dev-User: carol", Url("/item")]);
        await AssertAnsweredByAsync("pod 1.1 GET /item\n", ["-H", "X-Dev-User: dave", Url("/item")]);

        await QuitAsync(carol, ["-H", "X-Dev-User: carol", Url("/quit")]);
    }

    [Fact]
    public async Task ABodyFilterMatchesTheJsonValueAndNeverABodyOver64KiB()
    {
        string[] json = ["-H", "Content-Type: application/json"];
        await using var carol = await StartCarolAsync("body", """{ "body_filter": { "body": "json", "query": "$.user", "matches": "^carol$" } }""", [.. json, "--data", """{"user":"carol"}""", Url("/ready")]);

        await AssertAnsweredByAsync("carol 1.1 POST /orders\n", [.. json, "--data", """{"user":"carol","items":[1,2]}""", Url("/orders")]);
        await AssertAnsweredByAsync("pod 1.1 POST /orders\n", [.. json, "--data", """{"user":"dave"}""", Url("/orders")]);

        // The same user in a body over the 64 KiB read-ahead: no match, so the pod's app gets it (whole).
        var big = cluster.WriteConfig("big-body.json", $$"""{"user":"carol","padding":"{{new string('x', 70 * 1024)}}"}""");
        var upload = await cluster.CurlAsync([.. json, "--data-binary", "@" + big, Url("/upload")]);
        Assert.StartsWith($"pod {new FileInfo(big).Length} ", upload.StandardOutput, StringComparison.Ordinal);

        await QuitAsync(carol, [.. json, "--data", """{"user":"carol"}""", Url("/quit")]);
    }

    [Fact]
    public async Task AProbeStaysWithThePodsAppEvenWhenTheHeaderFilterMatchesIt()
    {
        string[] header = ["-H", "X-Dev-User: carol"];
        await using var carol = await StartCarolAsync("probe", """{ "header_filter": "^X-Dev-User: carol$" }""", [.. header, Url("/ready")]);

        await AssertAnsweredByAsync("pod 1.1 GET /healthz\n", [.. header, "-A", "kube-probe/1.20", Url("/healthz")]);
        await AssertAnsweredByAsync("carol 1.1 GET /healthz\n", [.. header, Url("/healthz")]);

        await QuitAsync(carol, [.. header, Url("/quit")]);
    }

    [Fact]
    public async Task AProbeGoesToTheSessionWhenTheFilterNamesUserAgent()
    {
        string[] probe = ["-A", "kube-probe/1.20"];
        await using var carol = await StartCarolAsync("probe-ua", """{ "header_filter": "^User-Agent: kube-probe/" }""", [.. probe, Url("/ready")]);

        await AssertAnsweredByAsync("carol 1.1 GET /healthz\n", [.. probe, Url("/healthz")]);
        await AssertAnsweredByAsync("pod 1.1 GET /healthz\n", [Url("/healthz")]);

        await QuitAsync(carol, [.. probe, Url("/quit")]);
    }

    [Fact]
    public async Task WhenTwoSessionsFiltersMatchTheEarlierSubscriptionTakesTheRequestAndTheOtherIsToldOnce()
    {
        await using var carol = await StartCarolAsync("team-blue", """{ "header_filter": "^X-Team: blue$" }""", ["-H", "X-Team: blue", Url("/ready")]);
        var dave = await cluster.StartAppAsync("dave", cluster.BobNamespace, Config("team-any", """{ "header_filter": "^X-Team: (blue|green)$" }"""));
        await using (dave)
        {
            await cluster.WaitUntilRoutedAsync("dave", "-H", "X-Team: green", Url("/ready"));

            for (var i = 0; i < 3; i++)
            {
                await AssertAnsweredByAsync($"carol 1.1 GET /both{i}\n", ["-H", "X-Team: blue", Url($"/both{i}")]);
            }

            var daveExit = await QuitAsync(dave, ["-H", "X-Team: green", Url("/quit")], "dave");
            var told = daveExit.Stderr.Split('\n').Where(line => line.Contains("matched your filter too", StringComparison.Ordinal)).ToList();
            var line = Assert.Single(told);
            Assert.StartsWith("warning: A request on port 80 (GET /both0) matched your filter too; carol@", line, StringComparison.Ordinal);
            Assert.EndsWith("'s earlier subscription took it (the earliest subscription wins).", line, StringComparison.Ordinal);
        }

        var carolExit = await QuitAsync(carol, ["-H", "X-Team: blue", Url("/quit")]);
        Assert.DoesNotContain("matched your filter too", carolExit.Stderr, StringComparison.Ordinal);
    }

    private string Url(string path) => cluster.WebUrl + path;

    private string Config(string name, string filter) => cluster.WriteConfig(
        $"{name}.json",
        $$"""{ "feature": { "network": { "incoming": { "mode": "steal", "http_filter": {{filter}} } } } }""");

    /// <summary>Starts carol's session with the filter and waits until <paramref name="readyCurl"/> reaches her app.</summary>
    private async Task<DoppelExecProcess> StartCarolAsync(string name, string filter, string[] readyCurl)
    {
        var carol = await cluster.StartAppAsync("carol", cluster.AliceNamespace, Config(name, filter));
        try
        {
            await cluster.WaitUntilRoutedAsync("carol", readyCurl);
            return carol;
        }
        catch
        {
            await carol.DisposeAsync();
            throw;
        }
    }

    private async Task AssertAnsweredByAsync(string expected, string[] curl)
    {
        var result = await cluster.CurlAsync(curl);
        Assert.True(result.Succeeded, $"curl {string.Join(' ', curl)}: {result.StandardError}");
        Assert.Equal(expected, result.StandardOutput);
    }

    /// <summary>Ends the app with a routed /quit and returns doppel's run: exit 0, its steal line, and no error.</summary>
    private async Task<DoppelExecResult> QuitAsync(DoppelExecProcess doppel, string[] curl, string app = "carol")
    {
        await AssertAnsweredByAsync($"{app} bye\n", curl);
        var result = await doppel.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"steal :80 → localhost:80 (filter ", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(result.Stderr.Split('\n'), line => line.StartsWith("error:", StringComparison.Ordinal));
        var counted = result.Stderr.Split('\n').Single(line => line.StartsWith("incoming: steal :80: ", StringComparison.Ordinal));
        Assert.EndsWith(" requests, 0 connections", counted, StringComparison.Ordinal);
        return result;
    }
}
