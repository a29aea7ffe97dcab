using System.Text.Json.Nodes;
using Doppel.Config;
using Doppel.Kubernetes.Agents;
using Doppel.Kubernetes.Targets;

namespace Doppel.Kubernetes.Tests.Agents;

/// <summary>What the agent's Job and targetless pod carry for the agent.* keys (docs/kubernetes.md, "Agent placement").</summary>
public sealed class AgentPodSpecsTests
{
    private static readonly ResolvedTarget s_target = new("dev", "bff-1", "bff", "abc123", "node-7", "10.0.0.5");

    [Fact]
    public void JobRunsOnTheTargetsNodeWithHostPidTheCapabilitiesAndTheAgentsArguments()
    {
        var agent = new AgentConfig { Ttl = 5, DisabledCapabilities = ["CAP_SYS_PTRACE"], Labels = new Dictionary<string, string> { ["team"] = "a" } };

        var job = AgentPodSpecs.Job(agent, s_target, "agents", "doppel-agent-x", 40000);

        var pod = job.Spec.Template.Spec;
        var container = Assert.Single(pod.Containers);
        Assert.Equal(("agents", 0, 5), (job.Metadata.NamespaceProperty, job.Spec.BackoffLimit, job.Spec.TtlSecondsAfterFinished));
        Assert.True(pod.HostPID);
        Assert.Equal("Never", pod.RestartPolicy);
        var term = Assert.Single(pod.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms);
        Assert.Equal(["node-7"], Assert.Single(term.MatchFields).Values);
        Assert.Equal(["NET_ADMIN", "SYS_ADMIN"], container.SecurityContext.Capabilities.Add);
        Assert.Null(container.SecurityContext.Privileged);
        Assert.Equal(["--target", "container/abc123", "--listen", "127.0.0.1:40000", "--idle-exit", "5", "--first-connection-timeout", "120", "--log-level", "info"], container.Args);
        Assert.Equal("doppel.local/doppel-agent:" + AgentImageConfig.DefaultTag, container.Image);
        Assert.Equal("false", job.Spec.Template.Metadata.Annotations["sidecar.istio.io/inject"]);
        Assert.Equal("disabled", job.Spec.Template.Metadata.Annotations["linkerd.io/inject"]);
        Assert.Equal(("a", "doppel"), (job.Metadata.Labels["team"], job.Metadata.Labels[AgentPodSpecs.ManagedByLabel]));
        Assert.False(pod.AutomountServiceAccountToken);
        Assert.Equal("Exists", Assert.Single(pod.Tolerations).OperatorProperty);
    }

    [Fact]
    public void PrivilegedSelectorsSecretsAndNoMeshOptOutAreTakenAsConfigured()
    {
        var agent = new AgentConfig
        {
            Privileged = true,
            DisableMeshSidecarInjection = false,
            NodeSelector = new Dictionary<string, string> { ["pool"] = "dev" },
            ImagePullSecrets = [new JsonObject { ["name"] = "regcred" }],
            PriorityClass = "high",
            ServiceAccount = "agent-sa",
            Image = new AgentImageConfig { Registry = "registry.example/doppel-agent", Tag = "1.2.3" },
            ImagePullPolicy = "Always",
        };

        var pod = AgentPodSpecs.Job(agent, s_target, "dev", "doppel-agent-y", 41000).Spec.Template;

        var container = Assert.Single(pod.Spec.Containers);
        Assert.True(container.SecurityContext.Privileged);
        Assert.Equal(("registry.example/doppel-agent:1.2.3", "Always"), (container.Image, container.ImagePullPolicy));
        Assert.Equal("dev", pod.Spec.NodeSelector["pool"]);
        Assert.Equal("regcred", Assert.Single(pod.Spec.ImagePullSecrets).Name);
        Assert.Equal(("high", "agent-sa", true), (pod.Spec.PriorityClassName, pod.Spec.ServiceAccountName, pod.Spec.AutomountServiceAccountToken));
        Assert.False(pod.Metadata.Annotations?.ContainsKey("sidecar.istio.io/inject") ?? false);
    }

    [Fact]
    public void TargetlessPodHasNoHostPidNoNodeAffinityAndNoAddedCapabilities()
    {
        var pod = AgentPodSpecs.TargetlessPod(new AgentConfig(), "dev", "doppel-agent-z", 42000);

        var container = Assert.Single(pod.Spec.Containers);
        Assert.Equal(("dev", "doppel-agent-z"), (pod.Metadata.NamespaceProperty, pod.Metadata.Name));
        Assert.Null(pod.Spec.HostPID);
        Assert.Null(pod.Spec.Affinity);
        Assert.Null(container.SecurityContext);
        Assert.Equal(["--target", "targetless"], container.Args.Take(2));
    }

    [Fact]
    public void ATargetWithoutContainerIdIsOneSentence()
    {
        var e = Assert.Throws<KubeException>(() => AgentPodSpecs.Job(new AgentConfig(), s_target with { ContainerId = null }, "dev", "n", 1));
        Assert.Equal("The container bff of pod bff-1 has no container ID in its status yet; try again once it runs.", e.Message);
    }
}
