using Doppel.Config;
using Doppel.Kubernetes.Agents;
using Doppel.Kubernetes.Targets;
using k8s.Models;

namespace Doppel.Kubernetes.Tests.Targets;

/// <summary>Which container ports the kubelet probes over HTTP, and how the agent learns them (docs/kubernetes.md, "Probes").</summary>
public sealed class KubeletProbesTests
{
    private static V1Probe HttpGet(string port, string? scheme = null, string? host = null)
        => new() { HttpGet = new V1HTTPGetAction { Path = "/healthz", Port = port, Scheme = scheme, Host = host } };

    [Fact]
    public void NumericAndNamedPortsOfHttpProbesAreTheProbedPorts()
    {
        var spec = new V1PodSpec
        {
            Containers =
            [
                new V1Container
                {
                    Name = "api",
                    Ports = [new V1ContainerPort { Name = "http", ContainerPort = 8080 }, new V1ContainerPort { Name = "admin", ContainerPort = 9901 }],
                    LivenessProbe = HttpGet("admin"),
                    ReadinessProbe = HttpGet("8080", scheme: "HTTP"),
                    StartupProbe = HttpGet("http"),
                },
            ],
        };

        Assert.Equal([8080, 9901], KubeletProbes.HttpPorts(spec));
    }

    [Fact]
    public void HttpsProbesProbesWithAHostAndOtherKindsOfProbeAreLeftOut()
    {
        var spec = new V1PodSpec
        {
            Containers =
            [
                new V1Container
                {
                    Name = "api",
                    LivenessProbe = HttpGet("8443", scheme: "HTTPS"),
                    ReadinessProbe = HttpGet("8080", host: "127.0.0.1"),
                    StartupProbe = new V1Probe { TcpSocket = new V1TCPSocketAction { Port = "8081" } },
                },
                new V1Container
                {
                    Name = "worker",
                    LivenessProbe = new V1Probe { Exec = new V1ExecAction { Command = ["true"] } },
                    ReadinessProbe = new V1Probe { Grpc = new V1GRPCAction { Port = 9090 } },
                },
            ],
        };

        Assert.Empty(KubeletProbes.HttpPorts(spec));
    }

    [Fact]
    public void ANamedPortIsLookedUpInTheProbesOwnContainerAndAnUnknownNameCountsForNothing()
    {
        var spec = new V1PodSpec
        {
            Containers =
            [
                new V1Container { Name = "api", Ports = [new V1ContainerPort { Name = "http", ContainerPort = 8080 }] },
                new V1Container { Name = "sidecar", Ports = [new V1ContainerPort { Name = "metrics", ContainerPort = 9102 }], LivenessProbe = HttpGet("http") },
            ],
            InitContainers = [new V1Container { Name = "log-shipper", RestartPolicy = "Always", ReadinessProbe = HttpGet("2020") }, new V1Container { Name = "migrate", LivenessProbe = HttpGet("5432") }],
        };

        // sidecar's "http" is no port of its own; the native sidecar's probe counts, the plain init container's does not.
        Assert.Equal([2020], KubeletProbes.HttpPorts(spec));
    }

    [Fact]
    public void APodsProbedPortsReachTheAgentsArgumentsInAJobAndAnEphemeralContainer()
    {
        var pod = new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = "bff-1", NamespaceProperty = "dev", Uid = "u1" },
            Spec = new V1PodSpec
            {
                NodeName = "node-7",
                Containers = [new V1Container { Name = "bff", Ports = [new V1ContainerPort { Name = "web", ContainerPort = 3000 }], ReadinessProbe = HttpGet("web"), LivenessProbe = HttpGet("8081") }],
            },
            Status = new V1PodStatus { ContainerStatuses = [new V1ContainerStatus { Name = "bff", ContainerID = "containerd://abc123" }] },
        };
        var agent = new AgentConfig { Ttl = 5 };

        var target = TargetResolver.FromPod("pod/bff-1", pod, container: null);
        var job = Assert.Single(AgentPodSpecs.Job(agent, target, "dev", "doppel-agent-x", 40000).Spec.Template.Spec.Containers).Args;
        var ephemeral = EphemeralPlacement.AgentContainer("doppel-agent-abcdef", "bff", "abc123", 20001, agent, target.HttpProbePorts).Args;
        var unprobed = Assert.Single(AgentPodSpecs.Job(agent, target with { HttpProbePorts = [] }, "dev", "doppel-agent-y", 40000).Spec.Template.Spec.Containers).Args;

        Assert.Equal([3000, 8081], target.HttpProbePorts);
        Assert.Equal(["--http-probe-ports", "3000,8081"], job.TakeLast(2));
        Assert.Equal(["--http-probe-ports", "3000,8081"], ephemeral.TakeLast(2));
        Assert.DoesNotContain("--http-probe-ports", unprobed);
    }
}
