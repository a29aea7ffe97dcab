using Doppel.EndToEnd.Tests.Support;

namespace Doppel.EndToEnd.Tests.Outgoing;

/// <summary>
/// Apps in the developer namespace (no route to the pods) reach pod services by their cluster
/// names: DNS and connections leave from the bff pod's network through the agent.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class OutgoingTests(ClusterFixture fixture)
{
    private static readonly string s_backendUrl = $"http://{ClusterFixture.BackendName}/";

    private string Target => $"pid/{fixture.Bff.Pid}";

    [Theory]
    [InlineData("curl")]
    [InlineData("python")]
    [InlineData("node")]
    [InlineData("static-go")]
    [InlineData("dotnet")]
    public async Task ProgramReachesTheBackendServiceByItsClusterName(string program)
    {
        string[] command = program switch
        {
            "curl" => ["curl", "-sS", "--noproxy", "*", "--max-time", "10", s_backendUrl],
            "python" => [ClusterFixture.Python, "-c", "import sys, urllib.request as u; sys.stdout.write(u.build_opener(u.ProxyHandler({})).open(sys.argv[1], timeout=10).read().decode())", s_backendUrl],
            "node" => ["node", "-e", "require('http').get(process.argv[1], { timeout: 10000 }, r => r.pipe(process.stdout)).on('error', e => { console.log('error', e.code); process.exit(3); })", s_backendUrl],
            "static-go" => [fixture.GoFetch, $"{ClusterFixture.BackendName}:80"],
            "dotnet" => [fixture.DotnetFetch, s_backendUrl],
            _ => throw new ArgumentOutOfRangeException(nameof(program)),
        };

        var result = await fixture.ExecAsync(["-t", Target, "--", .. command]);

        result.AssertSucceededWith(ClusterFixture.BackendBody);
    }

    [Fact]
    public async Task UdpEchoInAPodAnswersByName()
    {
        var script = NetScript.Write(fixture);

        var result = await fixture.ExecAsync(["-t", Target, "--", ClusterFixture.Python, script, $"udp:{ClusterFixture.BackendName}:{ClusterFixture.UdpEchoPort}:ping over udp"]);

        result.AssertSucceededWith($"udp {ClusterFixture.BackendName}:{ClusterFixture.UdpEchoPort}:ping over udp: 'ping over udp'\n");
    }

    [Fact]
    public async Task ARelayedSocketNamesThePodsAddressAndTheDestinationAsItsEnds()
    {
        const string Code = """
            import socket, sys
            s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
            print("local", s.getsockname()[0])
            print("peer", s.getpeername()[0], s.getpeername()[1])
            """;

        var result = await fixture.ExecAsync(["-t", Target, "--", ClusterFixture.Python, "-c", Code, ClusterFixture.BackendName, ClusterFixture.TcpEchoPort.ToString()]);

        result.AssertSucceededWith($"local {fixture.Bff.IP}\npeer {fixture.Backend.IP} {ClusterFixture.TcpEchoPort}\n");
    }

    [Fact]
    public async Task OutgoingLocalFilterKeepsTheListedHostLocalAndOthersRemote()
    {
        var script = NetScript.Write(fixture);
        var config = fixture.WriteFile(
            "outgoing-local.json",
            $$"""{ "feature": { "network": { "outgoing": { "filter": { "local": ["{{fixture.Backend.IP}}"] } } } } }""");

        var result = await fixture.ExecAsync(["-t", Target, "-f", config, "--", ClusterFixture.Python, script, $"http:{s_backendUrl}", $"http:http://{ClusterFixture.OtherName}/"]);

        // The backend's address stays local: the developer namespace has no route to it.
        result.AssertSucceededWith($"http {s_backendUrl}: ENETUNREACH\nhttp http://{ClusterFixture.OtherName}/: {PythonRepr(ClusterFixture.OtherBody)}\n");
    }

    [Fact]
    public async Task NoOutgoingKeepsConnectionsLocal()
    {
        var script = NetScript.Write(fixture);

        var result = await fixture.ExecAsync(["-t", Target, "--no-outgoing", "--", ClusterFixture.Python, script, $"tcp:{fixture.Backend.IP}:80"]);

        result.AssertSucceededWith($"tcp {fixture.Backend.IP}:80: ENETUNREACH\n");
    }

    [Fact]
    public async Task NoRemoteDnsLeavesClusterNamesUnresolved()
    {
        var script = NetScript.Write(fixture);

        var result = await fixture.ExecAsync(["-t", Target, "--no-remote-dns", "--", ClusterFixture.Python, script, $"resolve:{ClusterFixture.BackendName}", $"tcp:{fixture.Backend.IP}:80"]);

        // Connections by address still go through the pod.
        result.AssertSucceededWith($"resolve {ClusterFixture.BackendName}: not resolved\ntcp {fixture.Backend.IP}:80: connected\n");
    }

    [Fact]
    public async Task RemoteDnsResolvesClusterNamesToPodAddresses()
    {
        var script = NetScript.Write(fixture);

        var result = await fixture.ExecAsync(["-t", Target, "--", ClusterFixture.Python, script, $"resolve:{ClusterFixture.BackendName}", $"resolve:{ClusterFixture.OtherName}"]);

        result.AssertSucceededWith($"resolve {ClusterFixture.BackendName}: {fixture.Backend.IP}\nresolve {ClusterFixture.OtherName}: {fixture.Other.IP}\n");
    }

    private static string PythonRepr(string text) => "'" + text.Replace("\n", "\\n") + "'";
}
