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

    [Fact]
    public void ASharedJobCarriesTheSharingLabelsAndReadsItsTokenFromItsSecret()
    {
        var target = s_target with { Uid = "5b0e7c2e-1111-2222-3333-444455556666", Path = "deployment/bff" };
        var name = AgentPodSpecs.SharedName(target.Uid!, 1);

        var job = AgentPodSpecs.Job(new AgentConfig(), target, "dev", name, 42000, tokenSecret: name);
        var secret = AgentPodSpecs.Secret(new AgentConfig(), "dev", name, AgentPodSpecs.NewToken(), AgentPodSpecs.SharingLabels(target, 1));

        // The same pod and protocol: the same name, which a Job name (and its pods' job-name label) may carry.
        Assert.Equal(name, AgentPodSpecs.SharedName(target.Uid!, 1));
        Assert.NotEqual(name, AgentPodSpecs.SharedName(target.Uid!, 2));
        Assert.Matches("^doppel-agent-[0-9a-f]{16}$", name);
        foreach (var labels in new[] { job.Metadata.Labels, job.Spec.Template.Metadata.Labels, secret.Metadata.Labels })
        {
            Assert.Equal((target.Uid, "1", "doppel"), (labels[AgentSharing.TargetPodUidLabel], labels[AgentSharing.ProtocolLabel], labels[AgentPodSpecs.ManagedByLabel]));
        }

        Assert.Equal(("dev/bff-1/bff", "deployment/bff"), (job.Metadata.Annotations[AgentSharing.TargetAnnotation], job.Metadata.Annotations[AgentSharing.TargetPathAnnotation]));
        var variable = Assert.Single(Assert.Single(job.Spec.Template.Spec.Containers).Env);
        Assert.Equal((AgentSharing.TokenVariable, name, AgentSharing.TokenSecretKey), (variable.Name, variable.ValueFrom.SecretKeyRef.Name, variable.ValueFrom.SecretKeyRef.Key));
        Assert.Equal(43, secret.Data[AgentSharing.TokenSecretKey].Length);
        Assert.Matches("^[A-Za-z0-9_-]{43}$", System.Text.Encoding.UTF8.GetString(secret.Data[AgentSharing.TokenSecretKey]));
        Assert.Equal(42000, AgentPodSpecs.ListenPort(job.Spec.Template.Spec));
        Assert.NotEqual(AgentPodSpecs.NewToken(), AgentPodSpecs.NewToken());
    }
}
