using System.Net;
using System.Security.Cryptography;

namespace Doppel.EndToEnd.Tests.Incoming;

/// <summary>
/// Issue 10's multi-developer scenario with real clients: alice and bob each run their app under
/// doppel with <c>seed-multi-developer.json</c> on one target; requests with <c>X-Dev-User: alice</c>
/// reach alice's app, bob's reach bob's, every other request the pod's app — request by request,
/// on one connection, over HTTP/1.1 and h2c.
/// </summary>
[Collection(IncomingCollection.Name)]
public sealed class MultiDeveloperTests(MultiDeveloperFixture fixture) : IClassFixture<MultiDeveloperFixture>
{
    private const int TenMegabytes = 10 * 1024 * 1024;

    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    private IncomingFixture Cluster => fixture.Cluster;

    /// <summary>HTTP/1.1, and HTTP/2 with prior knowledge (h2c).</summary>
    public static TheoryData<string> Versions => new() { "1.1", "2.0" };

    /// <summary>The headers that route a request to <paramref name="app"/> (none: the pod's app).</summary>
    private static string[] Route(string app) => app switch
    {
        "alice" => ["X-Dev-User: alice"],
        "bob" => ["X-Dev-User: bob"],
        _ => [],
    };

    [Fact]
    public async Task OneRawHttp11KeepAliveConnectionCarriesAlicesBobsAndThePodsRequests()
    {
        using var timeout = new CancellationTokenSource(s_timeout);
        using var connection = new RawHttpConnection(await Cluster.ConnectFromClientPodAsync(timeout.Token));
        string[] order = ["alice", "pod", "bob", "bob", "pod", "alice", "pod", "alice", "bob"];
        for (var i = 0; i < order.Length; i++)
        {
            var app = order[i];
            var post = i % 2 == 1;
            var (status, headers, body) = await connection.ExchangeAsync(post ? "POST" : "GET", $"/r{i}", Route(app), post ? $"body {i}" : null, timeout.Token);
            Assert.Equal(200, status);
            Assert.Equal($"{app} 1.1 {(post ? "POST" : "GET")} /r{i}\n", body);
            Assert.Equal(app, headers["x-app"]);
        }
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task OneHttpClientConnectionCarriesAlicesBobsAndThePodsRequests(string version)
    {
        using var client = Cluster.OneConnectionClient(Version.Parse(version), out var connects);
        string[] order = ["bob", "alice", "pod", "alice", "alice", "pod", "bob", "pod", "bob"];
        for (var i = 0; i < order.Length; i++)
        {
            Assert.Equal($"{order[i]} {version} GET /s{i}\n", await GetAsync(client, version, order[i], $"/s{i}"));
        }

        // And all at once: h2c multiplexes them on its one connection; HTTP/1.1 queues them on its one.
        var answers = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => GetAsync(client, version, order[i % order.Length], $"/m{i}")));
        for (var i = 0; i < answers.Length; i++)
        {
            Assert.Equal($"{order[i % order.Length]} {version} GET /m{i}\n", answers[i]);
        }

        Assert.Equal(1, connects.Count);
    }

    [Theory]
    [InlineData("alice")]
    [InlineData("bob")]
    [InlineData("pod")]
    public async Task CurlWithH2cPriorKnowledgeReachesTheRightApp(string app)
    {
        var result = await Cluster.CurlAsync(["--http2-prior-knowledge", .. Route(app).SelectMany(h => new[] { "-H", h }), Cluster.WebUrl + "/curl"]);

        Assert.True(result.Succeeded, result.StandardError);
        Assert.Equal($"{app} 2.0 GET /curl\n", result.StandardOutput);
    }

    [Theory]
    [InlineData("alice", "1.1")]
    [InlineData("bob", "2.0")]
    [InlineData("pod", "1.1")]
    [InlineData("pod", "2.0")]
    public async Task TenMegabytesGoUpAndComeDownWholeAndStreamed(string app, string version)
    {
        using var client = Cluster.OneConnectionClient(Version.Parse(version), out _);

        // Up: generated while it is sent (never held whole on this side either), hashed on the way.
        var upload = new GeneratedContent(TenMegabytes, seed: 10);
        using (var request = Request(HttpMethod.Post, "/upload", version, app))
        {
            request.Content = upload;
            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(Version.Parse(version), response.Version);
            Assert.Equal($"{app} {TenMegabytes} {upload.Sha256}\n", await response.Content.ReadAsStringAsync());
        }

        // Down: read as it comes, hashed incrementally.
        using (var request = Request(HttpMethod.Get, $"/download?bytes={TenMegabytes}", version, app))
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(app, response.Headers.GetValues("x-app").Single());
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            await using var body = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[81920];
            long total = 0;
            int n;
            while ((n = await body.ReadAsync(buffer)) > 0)
            {
                hash.AppendData(buffer, 0, n);
                total += n;
            }

            Assert.Equal(TenMegabytes, total);
            Assert.Equal(IncomingApp.Sha256(IncomingApp.Pattern(TenMegabytes)), Convert.ToHexStringLower(hash.GetHashAndReset()));
        }
    }

    [Theory]
    [InlineData("alice")]
    [InlineData("pod")]
    public async Task CurlsExpect100ContinueGetsItsContinueAndTheAnswer(string app)
    {
        var file = Path.Combine(Cluster.WorkDirectory, $"continue-{app}.bin");
        await File.WriteAllBytesAsync(file, IncomingApp.Pattern(256 * 1024));

        // --expect100-timeout 30: curl would send the body after 1 s without the 100; with 30 it waits for it (or -m ends it: a hang fails).
        var result = await Cluster.CurlAsync(["-v", "--expect100-timeout", "30", "-H", "Expect: 100-continue", .. Route(app).SelectMany(h => new[] { "-H", h }), "--data-binary", "@" + file, Cluster.WebUrl + "/upload"]);

        Assert.True(result.Succeeded, result.StandardError);
        Assert.Equal($"{app} {256 * 1024} {IncomingApp.Sha256(IncomingApp.Pattern(256 * 1024))}\n", result.StandardOutput);
        Assert.Contains("< HTTP/1.1 100 Continue", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChunkedAnswersWithGapsStreamOnOneKeepAliveConnectionAndTheNextRequestFollows()
    {
        using var timeout = new CancellationTokenSource(s_timeout);
        using var connection = new RawHttpConnection(await Cluster.ConnectFromClientPodAsync(timeout.Token));
        foreach (var app in new[] { "alice", "pod", "bob" })
        {
            await connection.SendAsync("GET", "/chunked", Route(app), null, timeout.Token);
            var (status, headers) = await connection.ReadHeadAsync(timeout.Token);
            Assert.Equal(200, status);
            Assert.Equal("chunked", headers["transfer-encoding"]);

            // The app holds the rest until /release: the first chunk arrived alone, so it was not buffered on the way.
            Assert.Equal("one\n", await connection.ReadChunkAsync(timeout.Token));
            var release = await Cluster.CurlAsync([.. Route(app).SelectMany(h => new[] { "-H", h }), Cluster.WebUrl + "/release"]);
            Assert.Equal($"{app} released\n", release.StandardOutput);

            var rest = string.Empty;
            string chunk;
            while ((chunk = await connection.ReadChunkAsync(timeout.Token)).Length > 0)
            {
                rest += chunk;
            }

            Assert.Equal("two\nthree\n", rest);
        }

        // The connection is still usable for a plain request after them.
        var (_, _, body) = await connection.ExchangeAsync("GET", "/after", Route("alice"), null, timeout.Token);
        Assert.Equal("alice 1.1 GET /after\n", body);
    }

    /// <summary>A request with exactly this HTTP version (2.0: h2c with prior knowledge) and the headers that route it to <paramref name="app"/>.</summary>
    private static HttpRequestMessage Request(HttpMethod method, string path, string version, string app)
    {
        var request = new HttpRequestMessage(method, path) { Version = Version.Parse(version), VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        foreach (var header in Route(app))
        {
            var colon = header.IndexOf(':', StringComparison.Ordinal);
            request.Headers.Add(header[..colon], header[(colon + 1)..].Trim());
        }

        return request;
    }

    private static async Task<string> GetAsync(HttpClient client, string version, string app, string path)
    {
        using var request = Request(HttpMethod.Get, path, version, app);
        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path} for {app}: {(int)response.StatusCode} {body}");
        Assert.Equal(Version.Parse(version), response.Version);
        return body;
    }

    /// <summary>A request body of pseudo-random bytes made while it is sent, in 64 KiB writes; <see cref="Sha256"/> once sent.</summary>
    private sealed class GeneratedContent(int size, int seed) : HttpContent
    {
        public string Sha256 { get; private set; } = string.Empty;

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var random = new Random(seed);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[65536];
            for (var left = size; left > 0;)
            {
                var n = Math.Min(left, buffer.Length);
                random.NextBytes(buffer.AsSpan(0, n));
                hash.AppendData(buffer, 0, n);
                await stream.WriteAsync(buffer.AsMemory(0, n));
                left -= n;
            }

            Sha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false; // chunked (HTTP/1.1) / no length (h2c): a streamed body of unknown size
        }
    }
}
