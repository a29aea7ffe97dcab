using System.Globalization;
using System.Text.RegularExpressions;
using Doppel.Kubernetes.Tests.Support;
using Doppel.Testing;

namespace Doppel.Kubernetes.Tests.Cluster;

/// <summary>The cluster is sealed: nothing it runs reaches beyond this machine (docs/kubernetes.md, "Test cluster").</summary>
[Collection(KubeCollection.Name)]
public sealed partial class SealingTests(KubeFixture fixture)
{
    [Fact]
    public async Task AnImageThatIsNotOnTheNodeFailsAtOnceBecauseTheRegistryRequestIsRejectedOnThisMachine()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        // The registry is an address of a link this test owns (no name: no lookup through the
        // host's resolver), so even a failed guard sends nothing off the machine.
        await using var discard = await DiscardLink.CreateAsync("203.0.113", timeout.Token);
        var registry = discard.Destination.ToString();
        await using var ns = await fixture.CreateNamespaceAsync("pull", timeout.Token);
        await ns.ApplyAsync(
            $$"""
            apiVersion: v1
            kind: Pod
            metadata: {name: elsewhere, namespace: NS}
            spec:
              containers: [{name: app, image: "{{registry}}/doppel/absent:1", imagePullPolicy: Always}]
            """,
            timeout.Token);

        // containerd's connection to the registry is rejected by the egress guard (OUTPUT, the
        // cluster's group) before it leaves: it fails on this machine at once, no timeout (a
        // packet that passed would be discarded by the dummy link and the pull would time out).
        var message = "";
        await Poll.UntilAsync(
            async ct =>
            {
                // The event keeps the pull's error (the pod's waiting message soon becomes "Back-off ...").
                message = await ns.KubectlAsync(
                    ["get", "events", "--field-selector", "involvedObject.name=elsewhere,reason=Failed", "-o", "jsonpath={.items[*].message}"], ct);
                return message.Contains(registry, StringComparison.Ordinal);
            },
            "the pod's image pull failure",
            timeout.Token);

        Assert.Matches($@"dial tcp {Regex.Escape(registry)}:443: connect: (connection refused|operation not permitted)", message);
    }

    [Fact]
    public async Task APodsPacketToAnOutsideAddressIsDroppedAtTheBridge()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var discard = await DiscardLink.CreateAsync("198.51.100", timeout.Token);
        await using var ns = await fixture.CreateNamespaceAsync("egress", timeout.Token);
        await ns.ApplyAsync(WebWorkload.Yaml, timeout.Token);
        var pod = await ns.ReadyPodAsync("web", timeout.Token);
        var before = await DroppedFromTheBridgeAsync(timeout.Token);

        // 198.51.100.1 is routed to this test's dummy link, which discards it: the guard's DROP
        // counter shows the packet stopped at the bridge; without the guard it would still go nowhere.
        var attempt = await fixture.Cluster.KubectlAsync(
            ["exec", "-n", ns.Name, pod.Name, "--", "nc", "-w", "2", discard.Destination.ToString(), "80"], timeout.Token);
        var after = await DroppedFromTheBridgeAsync(timeout.Token);

        Assert.False(attempt.Succeeded);
        Assert.True(after > before, $"the FORWARD guard dropped {after - before} packets from the bridge");
    }

    [Fact]
    public async Task NoClusterComponentProbesACloudMetadataAddress()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));

        // The OUTPUT guard's rule for the cluster's group to 169.254.0.0/16 counts every attempt
        // since the cluster started (kubelet's cloud providers would probe 169.254.169.254).
        var rules = await Run.CheckedAsync(["iptables", "-w", "-t", "filter", "-L", "DKUBE-OUTPUT", "-n", "-v", "-x"], timeout.Token);
        var match = LinkLocalRejects().Match(rules);

        Assert.True(match.Success, $"No link-local REJECT rule in chain DKUBE-OUTPUT: {rules}");
        Assert.Equal("0", match.Groups[1].Value);
    }

    /// <summary>Packets the FORWARD guard's first rule (from the bridge to elsewhere) dropped so far.</summary>
    private static async Task<long> DroppedFromTheBridgeAsync(CancellationToken cancellationToken)
    {
        var rules = await Run.CheckedAsync(["iptables", "-w", "-t", "filter", "-L", "DKUBE-FORWARD", "-n", "-v", "-x"], cancellationToken);
        var match = FirstRuleCounter().Match(rules);
        return match.Success
            ? long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture)
            : throw new KubeClusterException($"No DROP rule in chain DKUBE-FORWARD: {rules}");
    }

    [GeneratedRegex(@"^\s*(\d+)\s+\d+\s+DROP\b", RegexOptions.Multiline)]
    private static partial Regex FirstRuleCounter();

    [GeneratedRegex(@"^\s*(\d+)\s+\d+\s+REJECT\b.*169\.254\.0\.0/16", RegexOptions.Multiline)]
    private static partial Regex LinkLocalRejects();
}
