using System.Text.Json;
using System.Text.Json.Nodes;
using Doppel.Config;
using Doppel.Kubernetes.Agents;
using Doppel.Kubernetes.Targets;

namespace Doppel.Kubernetes.Tests.Agent;

/// <summary>
/// The Kubernetes 1.22+ shape of the ephemeral containers subresource (the test cluster is 1.20,
/// see <see cref="EphemeralPlacementTests"/>), against recorded API exchanges: discovery names the
/// kind <c>Pod</c> for <c>pods/ephemeralcontainers</c> and the subresource takes a strategic-merge
/// patch of <c>spec.ephemeralContainers</c> and answers the Pod (API reference: "patch
/// ephemeralcontainers of the specified Pod", PATCH /api/v1/namespaces/{namespace}/pods/{name}/ephemeralcontainers,
/// body Patch, 200 Pod; KEP-277; kubectl debug since 1.22).
/// </summary>
public sealed class EphemeralPlacementRecordedTests : IDisposable
{
    private const string Namespace = "shop";
    private const string PodName = "web-7d9c6b5f4-x2x8q";
    private const string ContainerId = "3f1e0c5a9b7d4e2f8a6c1b0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f";
    private const string PodPath = $"/api/v1/namespaces/{Namespace}/pods/{PodName}";

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("doppel-eph-");

    private static AgentConfig Agent => new()
    {
        Image = new AgentImageConfig { Registry = "registry.example/doppel-agent", Tag = "1.2.3" },
        ImagePullPolicy = "IfNotPresent",
        Ttl = 4,
        DisabledCapabilities = ["SYS_ADMIN"],
        StartupTimeout = 60,
    };

    private static ResolvedTarget Target => new(Namespace, PodName, "app", ContainerId, "node-a", "10.8.0.12");

    [Fact]
    public async Task OnKubernetes122AndLaterTheAgentIsAStrategicMergePatchOfThePodSpecAndRunsOnceItsStatusSaysRunning()
    {
        var cluster = new NewerCluster(PodsEphemeralContainersKind: "Pod");
        await using var server = RecordedApiServer.Start(cluster.Answer);
        using var connection = Connect(server);

        var workload = await new EphemeralPlacement(connection).PlaceAsync(Target, Agent, Timeout());

        Assert.Equal(AgentWorkloadKind.EphemeralContainer, workload.Kind);
        Assert.Equal((Namespace, PodName, PodName), (workload.Namespace, workload.Name, workload.PodName));
        Assert.Matches("^doppel-agent-[0-9a-f]{6}$", workload.Container);
        Assert.InRange(workload.Port, EphemeralPlacement.LowestPort, EphemeralPlacement.HighestPort);
        Assert.Equal("node-a", workload.Node);

        var requests = server.Requests;
        Assert.Equal(["GET /api/v1/", $"GET {PodPath}", $"PATCH {PodPath}/ephemeralcontainers"], requests.Take(3).Select(r => $"{r.Method} {r.Path}"));
        Assert.All(requests.Skip(3), r => Assert.Contains($"{r.Method} {r.Path}", new[] { $"GET {PodPath}", $"GET {PodPath}/log" }));
        Assert.Equal($"GET {PodPath}/log?container={workload.Container}", requests.Where(r => r.Path.EndsWith("/log", StringComparison.Ordinal)).Select(r => $"{r.Method} {r.Target}").Last());
        Assert.All(requests, r => Assert.Equal("Bearer recorded-token", r.Authorization));

        var patch = requests[2];
        Assert.StartsWith("application/strategic-merge-patch+json", patch.ContentType, StringComparison.Ordinal);
        Assert.Contains("fieldManager=doppel", patch.Target, StringComparison.Ordinal);
        var body = JsonNode.Parse(patch.Body)!.AsObject();
        Assert.Equal(["spec"], body.Select(p => p.Key));
        Assert.Equal(["ephemeralContainers"], body["spec"]!.AsObject().Select(p => p.Key));
        var container = Assert.Single(body["spec"]!["ephemeralContainers"]!.AsArray())!.AsObject();
        Assert.Equal(workload.Container, (string?)container["name"]);
        Assert.Equal("registry.example/doppel-agent:1.2.3", (string?)container["image"]);
        Assert.Equal("IfNotPresent", (string?)container["imagePullPolicy"]);
        Assert.Equal("app", (string?)container["targetContainerName"]);
        Assert.Equal("FallbackToLogsOnError", (string?)container["terminationMessagePolicy"]);
        Assert.Equal(
            ["--target", $"container/{ContainerId}", "--listen", $"127.0.0.1:{workload.Port}", "--idle-exit", "4", "--first-connection-timeout", "120", "--log-level", "info"],
            container["args"]!.AsArray().Select(a => (string?)a));
        Assert.Equal(["NET_ADMIN", "SYS_PTRACE"], container["securityContext"]!["capabilities"]!["add"]!.AsArray().Select(a => (string?)a));
        Assert.Null(container["securityContext"]!["privileged"]);

        // Ephemeral containers may have no ports, probes, lifecycle or resources (the API rejects them).
        Assert.Empty(container.Select(p => p.Key).Intersect(["ports", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle", "resources", "command"]));
    }

    [Fact]
    public async Task WhenDiscoveryListsNoEphemeralContainersSubresourceTheClusterDoesNotAllowThemAndNothingIsPatched()
    {
        // Kubernetes 1.22 and 1.23 with the EphemeralContainers feature gate off.
        var cluster = new NewerCluster(PodsEphemeralContainersKind: null);
        await using var server = RecordedApiServer.Start(cluster.Answer);
        using var connection = Connect(server);

        var error = await Assert.ThrowsAsync<KubeException>(() => new EphemeralPlacement(connection).PlaceAsync(Target, Agent, Timeout()));

        Assert.Equal(
            "The cluster does not allow ephemeral containers (the API server serves no pods/ephemeralcontainers resource: its feature gate EphemeralContainers is off); run without -e (agent.ephemeral).",
            error.Message);
        Assert.DoesNotContain(server.Requests, r => r.Method == "PATCH");
    }

    [Fact]
    public async Task ARejectedPatchNamesTheApiServersReason()
    {
        var cluster = new NewerCluster(PodsEphemeralContainersKind: "Pod")
        {
            PatchAnswer = (422, """
                {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Pod \"web-7d9c6b5f4-x2x8q\" is invalid: spec.ephemeralContainers[0].securityContext.capabilities.add: Forbidden: the pod's security policy does not allow NET_ADMIN","reason":"Invalid","details":{"name":"web-7d9c6b5f4-x2x8q","kind":"Pod"},"code":422}
                """),
        };
        await using var server = RecordedApiServer.Start(cluster.Answer);
        using var connection = Connect(server);

        var error = await Assert.ThrowsAsync<KubeException>(() => new EphemeralPlacement(connection).PlaceAsync(Target, Agent, Timeout()));

        Assert.Equal(
            $"The API server rejected the agent's ephemeral container in pod {Namespace}/{PodName} (Pod \"{PodName}\" is invalid: spec.ephemeralContainers[0].securityContext.capabilities.add: Forbidden: the pod's security policy does not allow NET_ADMIN); run without -e (agent.ephemeral).",
            error.Message);
    }

    [Fact]
    public async Task AnAgentThatCannotListenIsReplacedByOneOnAnotherPort()
    {
        // The app listens, undeclared, on the first port drawn: that agent exits 1 at once.
        var cluster = new NewerCluster(PodsEphemeralContainersKind: "Pod") { FailFirstListen = true };
        await using var server = RecordedApiServer.Start(cluster.Answer);
        using var connection = Connect(server);

        var workload = await new EphemeralPlacement(connection).PlaceAsync(Target, Agent, Timeout());

        var patches = server.Requests.Where(r => r.Method == "PATCH").Select(r => JsonNode.Parse(r.Body)!["spec"]!["ephemeralContainers"]![0]!).ToList();
        Assert.Equal(2, patches.Count);
        Assert.Equal(workload.Container, (string?)patches[1]["name"]);
        Assert.NotEqual((string?)patches[0]["name"], (string?)patches[1]["name"]);
        var firstPort = (string?)patches[0]["args"]![3];
        Assert.NotEqual(firstPort, $"127.0.0.1:{workload.Port}");
    }

    public void Dispose() => _directory.Delete(recursive: true);

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    private KubeConnection Connect(RecordedApiServer server)
    {
        var path = Path.Combine(_directory.FullName, "kubeconfig");
        File.WriteAllText(path, server.Kubeconfig(Namespace));
        return KubeConnection.Open(new KubeConnectionOptions { Kubeconfig = path, Variables = _ => null });
    }

    /// <summary>
    /// A 1.22+ API server's answers: discovery, the target pod (container "app" declaring port
    /// 8080), the patch (answered with the Pod, as 1.22+ does), and the pod with the agent's
    /// container running (or, once, terminated because it could not listen).
    /// </summary>
    private sealed class NewerCluster(string? PodsEphemeralContainersKind)
    {
        private readonly List<JsonObject> _added = [];

        public (int Status, string Body)? PatchAnswer { get; init; }

        public bool FailFirstListen { get; init; }

        public (int Status, string Body) Answer(RecordedRequest request)
        {
            lock (_added)
            {
                return (request.Method, request.Path) switch
                {
                    ("GET", "/api/v1/") => (200, Discovery()),
                    ("GET", PodPath) => (200, Pod(withStatuses: true)),
                    ("PATCH", PodPath + "/ephemeralcontainers") => Patch(request),
                    ("GET", PodPath + "/log") => (200, $"listening on {(string?)_added[^1]["args"]![3]}\n"),
                    _ => (404, """{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server could not find the requested resource","reason":"NotFound","details":{},"code":404}"""),
                };
            }
        }

        private (int, string) Patch(RecordedRequest request)
        {
            if (PatchAnswer is { } answer)
            {
                return answer;
            }

            _added.Add(JsonNode.Parse(request.Body)!["spec"]!["ephemeralContainers"]![0]!.AsObject());
            // The patch's answer has the container in the spec; its status comes with the kubelet.
            return (200, Pod(withStatuses: false));
        }

        private string Discovery()
        {
            var subresource = PodsEphemeralContainersKind is null ? "" : $$"""
                {"name":"pods/ephemeralcontainers","singularName":"","namespaced":true,"kind":"{{PodsEphemeralContainersKind}}","verbs":["get","patch","update"]},
                """;
            return $$"""
                {"kind":"APIResourceList","groupVersion":"v1","resources":[
                {"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"shortNames":["po"],"categories":["all"],"storageVersionHash":"xPOwRZ+Yhw8="},
                {"name":"pods/attach","singularName":"","namespaced":true,"kind":"PodAttachOptions","verbs":["create","get"]},
                {"name":"pods/binding","singularName":"","namespaced":true,"kind":"Binding","verbs":["create"]},
                {{subresource}}
                {"name":"pods/eviction","singularName":"","namespaced":true,"group":"policy","version":"v1","kind":"Eviction","verbs":["create"]},
                {"name":"pods/exec","singularName":"","namespaced":true,"kind":"PodExecOptions","verbs":["create","get"]},
                {"name":"pods/log","singularName":"","namespaced":true,"kind":"Pod","verbs":["get"]},
                {"name":"pods/portforward","singularName":"","namespaced":true,"kind":"PodPortForwardOptions","verbs":["create","get"]},
                {"name":"pods/status","singularName":"","namespaced":true,"kind":"Pod","verbs":["get","patch","update"]}]}
                """;
        }

        private string Pod(bool withStatuses)
        {
            var statuses = _added.Select((c, i) => (JsonNode)new JsonObject
            {
                ["name"] = (string?)c["name"],
                ["state"] = FailFirstListen && i == 0
                    ? new JsonObject
                    {
                        ["terminated"] = new JsonObject
                        {
                            ["exitCode"] = 1,
                            ["reason"] = "Error",
                            ["message"] = $"doppel-agent: cannot listen on {(string?)c["args"]![3]}: Address already in use\n",
                            ["startedAt"] = "2026-11-30T19:00:01Z",
                            ["finishedAt"] = "2026-11-30T19:00:01Z",
                            ["containerID"] = "containerd://" + new string('a', 64),
                        },
                    }
                    : new JsonObject { ["running"] = new JsonObject { ["startedAt"] = "2026-11-30T19:00:02Z" } },
                ["lastState"] = new JsonObject(),
                ["ready"] = false,
                ["restartCount"] = 0,
                ["image"] = (string?)c["image"],
                ["imageID"] = "",
            }).ToArray();
            var pod = JsonNode.Parse($$$"""
                {"kind":"Pod","apiVersion":"v1",
                 "metadata":{"name":"{{{PodName}}}","generateName":"web-7d9c6b5f4-","namespace":"{{{Namespace}}}","uid":"6f1d9a52-8a43-4c7e-9c1e-2b1f0c3d4e5f","resourceVersion":"48213","creationTimestamp":"2026-11-30T18:00:00Z","labels":{"app":"web","pod-template-hash":"7d9c6b5f4"}},
                 "spec":{"containers":[{"name":"app","image":"registry.example/web:2.0","ports":[{"containerPort":8080,"protocol":"TCP"}],"resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"}],
                         "restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","serviceAccountName":"default","nodeName":"node-a","schedulerName":"default-scheduler","enableServiceLinks":true,"preemptionPolicy":"PreemptLowerPriority"},
                 "status":{"phase":"Running","conditions":[{"type":"Ready","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-11-30T18:00:05Z"}],
                           "hostIP":"192.168.10.4","podIP":"10.8.0.12","podIPs":[{"ip":"10.8.0.12"}],"startTime":"2026-11-30T18:00:00Z","qosClass":"BestEffort",
                           "containerStatuses":[{"name":"app","state":{"running":{"startedAt":"2026-11-30T18:00:04Z"}},"lastState":{},"ready":true,"restartCount":0,"image":"registry.example/web:2.0","imageID":"registry.example/web@sha256:0d5f","containerID":"containerd://{{{ContainerId}}}","started":true}]}}
                """)!.AsObject();
            if (_added.Count > 0)
            {
                pod["spec"]!["ephemeralContainers"] = new JsonArray([.. _added.Select(c => c.DeepClone())]);
                if (withStatuses)
                {
                    pod["status"]!["ephemeralContainerStatuses"] = new JsonArray(statuses);
                }
            }

            return pod.ToJsonString(new JsonSerializerOptions());
        }
    }
}
