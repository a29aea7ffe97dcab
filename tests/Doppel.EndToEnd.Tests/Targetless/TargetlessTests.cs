using Doppel.EndToEnd.Tests.Support;

namespace Doppel.EndToEnd.Tests.Targetless;

[Collection(EndToEndCollection.Name)]
public sealed class TargetlessTests(ClusterFixture fixture)
{
    [Fact]
    public async Task TargetlessSessionReachesTheBackendByNameFromTheNamedNetworkNamespace()
    {
        var script = NetScript.Write(fixture);

        var result = await fixture.ExecAsync(
            ["-t", "targetless", "-n", fixture.Other.NetworkNamespace, "--", ClusterFixture.Python, script,
                $"http:http://{ClusterFixture.BackendName}/", $"udp:{ClusterFixture.BackendName}:{ClusterFixture.UdpEchoPort}:targetless"]);

        result.AssertSucceededWith($"http http://{ClusterFixture.BackendName}/: 'hello from backend\\n'\nudp {ClusterFixture.BackendName}:{ClusterFixture.UdpEchoPort}:targetless: 'targetless'\n");
    }

    [Fact]
    public async Task TargetlessSessionImportsNoPodEnvironmentAndReadsFilesLocally()
    {
        var result = await fixture.ExecAsync(
            ["-t", "targetless", "-n", fixture.Bff.NetworkNamespace, "--", ClusterFixture.Python, "-c",
                "import os; print(os.environ.get('FEATURE_FLAG', '<unset>')); print(os.path.exists('/app/config.json'))"],
            new Dictionary<string, string?> { ["FEATURE_FLAG"] = null });

        result.AssertSucceededWith("<unset>\nFalse\n");
    }
}
