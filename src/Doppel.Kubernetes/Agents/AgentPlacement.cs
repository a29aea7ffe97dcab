using System.Diagnostics;
using System.Security.Cryptography;
using Doppel.Config;
using Doppel.Kubernetes.Targets;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Doppel.Kubernetes.Agents;

/// <summary>
/// Creates the workload that runs a session's agent (<see cref="AgentPodSpecs"/>), waits until
/// the agent listens, and deletes the workload again.
/// <code>
///   CreateJobAsync / CreateTargetlessPodAsync ──► AgentWorkload (Kind, Namespace, Name, Port)
///   WaitReadyAsync ── pod Running, container running, log line "listening on" ──► AgentWorkload (+PodName, Node)
///   DeleteAsync ──► the Job (its pod with it, background propagation) or the pod; gone already is fine
/// </code>
/// The agent listens on 127.0.0.1:<see cref="AgentWorkload.Port"/> of its pod, which only the API
/// server's port-forward reaches. Every failure is a <see cref="KubeException"/> of one sentence.
/// </summary>
public sealed class AgentPlacement(KubeConnection connection, AgentConfig agent)
{
    private static readonly TimeSpan s_pollInterval = TimeSpan.FromMilliseconds(150);
    private static readonly TimeSpan s_diagnoseInterval = TimeSpan.FromSeconds(1);

    /// <summary>The namespace the agent's workload goes to: <c>agent.namespace</c>, else <paramref name="targetNamespace"/>.</summary>
    public string NamespaceFor(string targetNamespace) => string.IsNullOrEmpty(agent.Namespace) ? targetNamespace : agent.Namespace;

    /// <summary>Creates the agent's Job on <paramref name="target"/>'s node (<see cref="AgentPodSpecs.Job"/>).</summary>
    public async Task<AgentWorkload> CreateJobAsync(ResolvedTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var ns = NamespaceFor(target.Namespace);
        var name = AgentPodSpecs.NewName();
        var port = NewPort();
        var job = AgentPodSpecs.Job(agent, target, ns, name, port);
        await KubeApi.CallAsync(connection, "create", "jobs", ns,
            () => connection.Client.BatchV1.CreateNamespacedJobAsync(job, ns, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return new AgentWorkload(AgentWorkloadKind.Job, ns, name, AgentPodSpecs.ContainerName, port) { Node = target.Node };
    }

    /// <summary>
    /// Creates the agent's plain pod for a targetless session in <paramref name="targetNamespace"/>
    /// (or <c>agent.namespace</c>), with its token Secret (same name, owned by the pod: it goes with it).
    /// Targetless agents are not shared: each session has its own (there is no target pod to key one by).
    /// </summary>
    public async Task<AgentWorkload> CreateTargetlessPodAsync(string targetNamespace, CancellationToken cancellationToken)
    {
        var ns = NamespaceFor(targetNamespace);
        var name = AgentPodSpecs.NewName();
        var port = NewPort();
        var token = AgentPodSpecs.NewToken();
        var secret = AgentPodSpecs.Secret(agent, ns, name, token);
        await KubeApi.CallAsync(connection, "create", "secrets", ns,
            () => connection.Client.CoreV1.CreateNamespacedSecretAsync(secret, ns, cancellationToken: cancellationToken)).ConfigureAwait(false);
        var pod = AgentPodSpecs.TargetlessPod(agent, ns, name, port, tokenSecret: name);
        V1Pod? created;
        try
        {
            created = await KubeApi.CallAsync(connection, "create", "pods", ns,
                () => connection.Client.CoreV1.CreateNamespacedPodAsync(pod, ns, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }
        catch
        {
            await KubeApi.CallAsync(connection, "delete", "secrets", ns,
                () => connection.Client.CoreV1.DeleteNamespacedSecretAsync(name, ns, cancellationToken: CancellationToken.None)).ConfigureAwait(false);
            throw;
        }

        await OwnSecretAsync(ns, name, "v1", "Pod", created?.Metadata?.Uid, cancellationToken).ConfigureAwait(false);
        return new AgentWorkload(AgentWorkloadKind.Pod, ns, name, AgentPodSpecs.ContainerName, port) { PodName = name, Token = token };
    }

    /// <summary>
    /// Waits, at most <c>agent.startup_timeout</c>, until the agent's pod runs and the agent has
    /// written "listening on" (its log; when <c>pods/log</c> may not be read, the running container
    /// is taken as ready and the first connection tells). Returns the workload with its pod and
    /// node. Throws <see cref="KubeException"/>: the agent exited (its last log line), or it did
    /// not start (<see cref="AgentStartDiagnosis"/>: at once when it cannot start, else at the timeout).
    /// </summary>
    public async Task<AgentWorkload> WaitReadyAsync(AgentWorkload workload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(workload);
        var timeout = TimeSpan.FromSeconds(Math.Max(agent.StartupTimeout, 1));
        var clock = Stopwatch.StartNew();
        var logReadable = true;
        var diagnosed = TimeSpan.Zero;
        string? jobUid = null; // a Job agent's UID, read once it is seen: only that Job's pods count (FindPodAsync)
        while (true)
        {
            if (workload.Kind == AgentWorkloadKind.Job && jobUid is null)
            {
                jobUid = (await GetJobAsync(workload.Namespace, workload.Name, cancellationToken).ConfigureAwait(false))?.Metadata?.Uid;
            }

            var pod = await FindPodAsync(workload, jobUid, cancellationToken).ConfigureAwait(false);
            if (pod is not null)
            {
                workload = workload with { PodName = pod.Metadata.Name, Node = pod.Spec?.NodeName ?? workload.Node };
                var state = pod.Status?.ContainerStatuses?.FirstOrDefault(c => c.Name == workload.Container)?.State;
                if (state?.Terminated is { } terminated || pod.Status?.Phase is "Failed" or "Succeeded")
                {
                    throw new KubeException(await ExitedAsync(workload, pod, cancellationToken).ConfigureAwait(false));
                }

                if (pod.Status?.Phase == "Running" && state?.Running is not null)
                {
                    if (!logReadable)
                    {
                        return workload;
                    }

                    var log = await LogAsync(workload, cancellationToken).ConfigureAwait(false);
                    if (log is null)
                    {
                        logReadable = false;
                        continue;
                    }

                    if (log.Contains("listening on ", StringComparison.Ordinal))
                    {
                        return workload;
                    }
                }
            }

            if (clock.Elapsed >= timeout)
            {
                throw new KubeException(await ExplainAsync(workload, timeout, timedOut: true, cancellationToken).ConfigureAwait(false)
                    ?? $"The agent was not ready within {timeout.TotalSeconds:0} s (agent.startup_timeout).");
            }

            // Not ready yet: once a second, whether it is still starting normally or cannot start
            // (RBAC, unschedulable, image pull, admission) — then the sentence now, not at the timeout.
            if (clock.Elapsed - diagnosed >= s_diagnoseInterval)
            {
                diagnosed = clock.Elapsed;
                if (await ExplainAsync(workload, timeout, timedOut: false, cancellationToken).ConfigureAwait(false) is { } failure)
                {
                    throw new KubeException(failure);
                }
            }

            await Task.Delay(s_pollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Deletes what <paramref name="workload"/> names (a Job with its pod, or the pod); one that is
    /// gone already is fine. Throws <see cref="KubeException"/> when the API server refuses.
    /// </summary>
    public async Task DeleteAsync(AgentWorkload workload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(workload);
        switch (workload.Kind)
        {
            case AgentWorkloadKind.Job:
                await KubeApi.CallAsync(connection, "delete", "jobs", workload.Namespace,
                    () => connection.Client.BatchV1.DeleteNamespacedJobAsync(workload.Name, workload.Namespace, propagationPolicy: "Background", cancellationToken: cancellationToken)).ConfigureAwait(false);

                // Background propagation leaves the pod to the garbage collector; deleting it too ends the agent now.
                if (workload.PodName is { } podName)
                {
                    await KubeApi.CallAsync(connection, "delete", "pods", workload.Namespace,
                        () => connection.Client.CoreV1.DeleteNamespacedPodAsync(podName, workload.Namespace, cancellationToken: cancellationToken)).ConfigureAwait(false);
                }

                break;
            case AgentWorkloadKind.Pod:
                await KubeApi.CallAsync(connection, "delete", "pods", workload.Namespace,
                    () => connection.Client.CoreV1.DeleteNamespacedPodAsync(workload.Name, workload.Namespace, cancellationToken: cancellationToken)).ConfigureAwait(false);

                // Its token Secret is owned by the pod and would go with it; deleted now, not when the garbage collector comes.
                if (workload.Token is not null)
                {
                    await KubeApi.CallAsync(connection, "delete", "secrets", workload.Namespace,
                        () => connection.Client.CoreV1.DeleteNamespacedSecretAsync(workload.Name, workload.Namespace, cancellationToken: cancellationToken)).ConfigureAwait(false);
                }

                break;
            default:
                throw new ArgumentException($"{workload.Kind} workloads are not placed by {nameof(AgentPlacement)}.", nameof(workload));
        }
    }

    /// <summary>
    /// The agent beside <paramref name="target"/>, shared by every session on that pod
    /// (<see cref="AgentSharing"/>): joins the Job agent another session placed (its Job named
    /// <see cref="AgentPodSpecs.SharedName"/>, its token from the Secret of that name), or places
    /// it: the Secret first (its 409 AlreadyExists tells that another session is placing it right
    /// now: that one is joined), then the Job, then the Secret's ownerReference to the Job. A Job
    /// whose agent has ended (Complete or Failed: idle past <c>agent.ttl</c>, killed) is deleted
    /// with its Secret and placed again. Returns the agent once ready. Throws <see cref="KubeException"/>
    /// (one sentence: RBAC with the verb and resource — <c>get secrets</c> for a joining session —,
    /// the agent not starting, or the Job changing under doppel five times running).
    /// </summary>
    /// <param name="created">Told the Job when this call creates it (before waiting for its agent), so a caller interrupted meanwhile can say what became of it.</param>
    public async Task<SharedAgent> AcquireJobAsync(ResolvedTarget target, CancellationToken cancellationToken, Action<AgentWorkload>? created = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        var ns = NamespaceFor(target.Namespace);
        var name = AgentPodSpecs.SharedName(target.Uid ?? $"{target.Namespace}/{target.Pod}", Doppel.Protocol.ProtocolVersion.Current);
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var job = await GetJobAsync(ns, name, cancellationToken).ConfigureAwait(false);
            if (job is null)
            {
                if (await PlaceSharedJobAsync(target, ns, name, created, cancellationToken).ConfigureAwait(false) is { } placed)
                {
                    return placed;
                }

                continue; // another session is placing it, or a stale Secret was removed: look again
            }

            if (IsFinished(job) || job.Metadata.DeletionTimestamp is not null)
            {
                await DeleteSharedAsync(ns, name, waitGone: true, cancellationToken).ConfigureAwait(false);
                continue;
            }

            var port = AgentPodSpecs.ListenPort(job.Spec?.Template?.Spec)
                ?? throw new KubeException($"The Job {ns}/{name} has no doppel agent listening port in its pod template; delete it (`kubectl delete job {name} -n {ns}`) and try again.");
            var token = await ReadTokenAsync(ns, name, cancellationToken).ConfigureAwait(false)
                ?? throw new KubeException(
                    $"The agent Job {ns}/{name} has no Secret {name} with its token, so no session can join it; `doppel status -n {ns}` shows who still uses it, " +
                    $"and once they are done (or if nobody is) delete the Job (`kubectl delete job {name} -n {ns}`) and try again.");
            var workload = new AgentWorkload(AgentWorkloadKind.Job, ns, name, AgentPodSpecs.ContainerName, port) { Node = target.Node, Token = token };
            try
            {
                return new SharedAgent(await WaitReadyAsync(workload, cancellationToken).ConfigureAwait(false), Joined: true);
            }
            catch (KubeException)
            {
                // Gone, or another session replaced it meanwhile: look again (that one is joined).
                if (await GetJobAsync(ns, name, cancellationToken).ConfigureAwait(false) is not { } now || now.Metadata.Uid != job.Metadata.Uid)
                {
                    continue;
                }

                // Its agent ended while this session joined (its idle time ran out): placed again.
                if (!await IsFinishedAsync(ns, name, cancellationToken).ConfigureAwait(false))
                {
                    throw;
                }

                // Its pod ended but the Job controller has not counted it yet (it lags, e.g. right
                // after an API server restart): the Job is as good as ended (backoffLimit 0), so it
                // goes now instead of being joined again until the controller catches up.
                await DeleteSharedAsync(ns, name, waitGone: true, cancellationToken).ConfigureAwait(false);
            }
        }

        throw new KubeException($"The agent Job {ns}/{name} for pod {target.Namespace}/{target.Pod} was deleted or ended five times while doppel joined it; try again.");
    }

    /// <summary>
    /// True when <paramref name="workload"/>'s Job or pod is gone from the API server or being
    /// deleted. Throws <see cref="KubeException"/> when the API server cannot tell.
    /// </summary>
    public async Task<bool> IsGoneAsync(AgentWorkload workload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(workload);
        try
        {
            V1ObjectMeta? meta = workload.Kind == AgentWorkloadKind.Job
                ? (await connection.Client.BatchV1.ReadNamespacedJobAsync(workload.Name, workload.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false)).Metadata
                : (await connection.Client.CoreV1.ReadNamespacedPodAsync(workload.Name, workload.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false)).Metadata;
            return meta?.DeletionTimestamp is not null;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return true;
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException)
        {
            throw new KubeException($"The API server could not say whether {workload.Namespace}/{workload.Name} is gone: {e.Message}", e);
        }
    }

    /// <summary>
    /// Deletes the shared agent's Job (its pod with it) and its Secret; ones gone already are fine.
    /// With <paramref name="waitGone"/>, waits (at most 10 s) until the Job is gone, so a new one of
    /// the same name can be created. Throws <see cref="KubeException"/> when the API server refuses.
    /// </summary>
    public async Task DeleteSharedAsync(string @namespace, string name, bool waitGone, CancellationToken cancellationToken)
    {
        await KubeApi.CallAsync(connection, "delete", "jobs", @namespace,
            () => connection.Client.BatchV1.DeleteNamespacedJobAsync(name, @namespace, propagationPolicy: "Background", cancellationToken: cancellationToken)).ConfigureAwait(false);
        var pods = await KubeApi.CallAsync(connection, "list", "pods", @namespace,
            () => connection.Client.CoreV1.ListNamespacedPodAsync(@namespace, labelSelector: "job-name=" + name, cancellationToken: cancellationToken)).ConfigureAwait(false);
        foreach (var pod in pods?.Items ?? [])
        {
            await KubeApi.CallAsync(connection, "delete", "pods", @namespace,
                () => connection.Client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, @namespace, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }

        await KubeApi.CallAsync(connection, "delete", "secrets", @namespace,
            () => connection.Client.CoreV1.DeleteNamespacedSecretAsync(name, @namespace, cancellationToken: cancellationToken)).ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        while (waitGone && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            var job = await GetJobAsync(@namespace, name, cancellationToken).ConfigureAwait(false);
            if (job is null)
            {
                return;
            }

            await Task.Delay(s_pollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Deletes the doppel agent Jobs in <paramref name="namespace"/> whose agent has ended (Complete
    /// or Failed) and their Secrets: on Kubernetes 1.20 the TTL controller is off, so the Job of an
    /// agent whose last session was killed (kill -9) stays. One list call when there is nothing to
    /// do. Returns how many were deleted. Throws <see cref="KubeException"/> when the API server refuses.
    /// </summary>
    public async Task<int> SweepFinishedAsync(string @namespace, CancellationToken cancellationToken)
    {
        var jobs = await KubeApi.CallAsync(connection, "list", "jobs", @namespace,
            () => connection.Client.BatchV1.ListNamespacedJobAsync(@namespace, labelSelector: $"{AgentPodSpecs.ManagedByLabel}=doppel,{AgentPodSpecs.NameLabel}={AgentPodSpecs.ContainerName}", cancellationToken: cancellationToken)).ConfigureAwait(false);
        var swept = 0;
        foreach (var job in jobs?.Items ?? [])
        {
            if (IsFinished(job) && job.Metadata.DeletionTimestamp is null)
            {
                await DeleteSharedAsync(@namespace, job.Metadata.Name, waitGone: false, cancellationToken).ConfigureAwait(false);
                swept++;
            }
        }

        return swept;
    }

    /// <summary>The token in Secret <paramref name="name"/> (<see cref="AgentSharing.TokenSecretKey"/>); null when there is no such Secret or key.</summary>
    public async Task<string?> ReadTokenAsync(string @namespace, string name, CancellationToken cancellationToken)
    {
        var secret = await KubeApi.CallAsync(connection, "get", "secrets", @namespace,
            () => connection.Client.CoreV1.ReadNamespacedSecretAsync(name, @namespace, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return secret?.Data is { } data && data.TryGetValue(AgentSharing.TokenSecretKey, out var bytes) ? System.Text.Encoding.UTF8.GetString(bytes) : null;
    }

    /// <summary>True when the Job's agent has ended: Complete or Failed, or pods counted as succeeded or failed.</summary>
    public static bool IsFinished(V1Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return job.Status is { } status
            && ((status.Succeeded ?? 0) > 0 || (status.Failed ?? 0) > 0
                || status.Conditions?.Any(c => c.Type is "Complete" or "Failed" && c.Status == "True") == true);
    }

    /// <summary>
    /// True when the shared agent Job <paramref name="name"/> has ended (<see cref="IsFinished"/>, or
    /// its pod ended or is being deleted a moment before the Job controller counts it) or is gone.
    /// Throws <see cref="KubeException"/> when the API server refuses.
    /// </summary>
    public async Task<bool> IsFinishedAsync(string @namespace, string name, CancellationToken cancellationToken)
    {
        var job = await GetJobAsync(@namespace, name, cancellationToken).ConfigureAwait(false);
        if (job is not null && !IsFinished(job) && job.Metadata.DeletionTimestamp is null)
        {
            // The Job controller counts a pod that ended a moment later than the kubelet reports it.
            var pods = await KubeApi.CallAsync(connection, "list", "pods", @namespace,
                () => connection.Client.CoreV1.ListNamespacedPodAsync(@namespace, labelSelector: "job-name=" + name, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return pods?.Items?.Any(p => p.Status?.Phase is "Succeeded" or "Failed" || p.Metadata.DeletionTimestamp is not null) == true;
        }

        return true;
    }

    /// <summary>
    /// Places the shared Job agent: Secret, Job, ownerReference; then waits until it is ready.
    /// Null when the Secret or Job exists already (another session is placing it: the caller looks
    /// again) or a stale Secret (of a deleted Job, or one whose creator died) was removed.
    /// </summary>
    private async Task<SharedAgent?> PlaceSharedJobAsync(ResolvedTarget target, string ns, string name, Action<AgentWorkload>? created, CancellationToken cancellationToken)
    {
        var token = AgentPodSpecs.NewToken();
        var port = NewPort();
        var secret = AgentPodSpecs.Secret(agent, ns, name, token, AgentPodSpecs.SharingLabels(target, Doppel.Protocol.ProtocolVersion.Current));
        var made = await CreateOrConflictAsync("secrets", ns,
            () => connection.Client.CoreV1.CreateNamespacedSecretAsync(secret, ns, cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (made is null)
        {
            await AwaitOtherPlacementAsync(ns, name, cancellationToken).ConfigureAwait(false);
            return null;
        }

        var job = AgentPodSpecs.Job(agent, target, ns, name, port, tokenSecret: name);
        V1Job? createdJob;
        try
        {
            createdJob = await CreateOrConflictAsync("jobs", ns,
                () => connection.Client.BatchV1.CreateNamespacedJobAsync(job, ns, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }
        catch
        {
            await KubeApi.CallAsync(connection, "delete", "secrets", ns,
                () => connection.Client.CoreV1.DeleteNamespacedSecretAsync(name, ns, cancellationToken: CancellationToken.None)).ConfigureAwait(false);
            throw;
        }

        if (createdJob is null)
        {
            return null; // a Job of that name appeared after all: joined on the next look
        }

        var workload = new AgentWorkload(AgentWorkloadKind.Job, ns, name, AgentPodSpecs.ContainerName, port) { Node = target.Node, Token = token };
        created?.Invoke(workload);
        try
        {
            await OwnSecretAsync(ns, name, "batch/v1", "Job", createdJob.Metadata.Uid, cancellationToken).ConfigureAwait(false);
            return new SharedAgent(await WaitReadyAsync(workload, cancellationToken).ConfigureAwait(false), Joined: false);
        }
        catch (Exception e) when (e is KubeException or OperationCanceledException)
        {
            // An agent this session placed that did not start (or Ctrl+C while it started) serves
            // nobody: its Job, pod and Secret go now, as an unshared agent's did.
            using var deleting = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await DeleteSharedAsync(ns, name, waitGone: false, deleting.Token).ConfigureAwait(false);
            }
            catch (Exception again) when (again is KubeException or OperationCanceledException)
            {
                // Left for the next session's sweep (it has ended or will) — the start failure is what to say.
            }

            throw;
        }
    }

    /// <summary>
    /// This session's create of Secret <paramref name="name"/> found one: another session is placing
    /// the agent or has placed it. Returns (the caller looks again, and joins) when the Secret is
    /// owned by the Job of that name that exists now (placed a moment ago: the other session's
    /// Job create and ownerReference patch came between this session's look for the Job and its
    /// create of the Secret), or when the Job appears within 10 s (the other session is between its
    /// two creates). The Secret is stale and deleted when it is owned by a Job that is gone (another
    /// Job of the name, or none), or has had no owner for more than 30 s (its creator died).
    /// </summary>
    internal async Task AwaitOtherPlacementAsync(string ns, string name, CancellationToken cancellationToken)
    {
        var secret = await KubeApi.CallAsync(connection, "get", "secrets", ns,
            () => connection.Client.CoreV1.ReadNamespacedSecretAsync(name, ns, cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (secret is null)
        {
            return;
        }

        if (secret.Metadata.OwnerReferences is { Count: > 0 } owners)
        {
            // Its owner decides: a live agent's Secret must stay, every session on it reads its token.
            var owner = await GetJobAsync(ns, name, cancellationToken).ConfigureAwait(false);
            if (owner is not null && owners.Any(o => o.Uid == owner.Metadata.Uid))
            {
                return;
            }
        }

        var stale = secret.Metadata.OwnerReferences is { Count: > 0 }
            || DateTime.UtcNow - (secret.Metadata.CreationTimestamp ?? DateTime.UtcNow) > TimeSpan.FromSeconds(30);
        var clock = Stopwatch.StartNew();
        while (!stale && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            var job = await GetJobAsync(ns, name, cancellationToken).ConfigureAwait(false);
            if (job is not null)
            {
                return;
            }

            await Task.Delay(s_pollInterval, cancellationToken).ConfigureAwait(false);
        }

        await KubeApi.CallAsync(connection, "delete", "secrets", ns,
            () => connection.Client.CoreV1.DeleteNamespacedSecretAsync(name, ns, cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>The Job <paramref name="name"/>; null when there is none.</summary>
    private Task<V1Job?> GetJobAsync(string ns, string name, CancellationToken cancellationToken) =>
        KubeApi.CallAsync(connection, "get", "jobs", ns, () => connection.Client.BatchV1.ReadNamespacedJobAsync(name, ns, cancellationToken: cancellationToken));

    /// <summary>Makes Secret <paramref name="name"/> owned by the agent's Job or pod of that name: the garbage collector deletes it with its owner, whoever deletes that.</summary>
    private async Task OwnSecretAsync(string ns, string name, string apiVersion, string kind, string? uid, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(uid))
        {
            return;
        }

        var owner = new V1Patch(
            $$$"""{"metadata":{"ownerReferences":[{"apiVersion":"{{{apiVersion}}}","kind":"{{{kind}}}","name":"{{{name}}}","uid":"{{{uid}}}"}]}}""",
            V1Patch.PatchType.MergePatch);
        await KubeApi.CallAsync(connection, "patch", "secrets", ns,
            () => connection.Client.CoreV1.PatchNamespacedSecretAsync(owner, name, ns, cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>A create through <see cref="KubeApi.CallAsync"/> whose 409 AlreadyExists is null, not a failure.</summary>
    private Task<T?> CreateOrConflictAsync<T>(string resource, string ns, Func<Task<T>> create)
        where T : class =>
        KubeApi.CallAsync<T>(connection, "create", resource, ns, async () =>
        {
            try
            {
                return await create().ConfigureAwait(false);
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.Conflict)
            {
                return null!;
            }
        });

    /// <summary>A port for the agent in its pod: 20000–59999 (a Job's or plain pod's network is the agent's own; the range stays clear of common app ports should another kind share a pod's).</summary>
    private static int NewPort() => RandomNumberGenerator.GetInt32(20000, 60000);

    /// <summary>The agent's pod: a plain pod by name; a Job's newest pod owned by the Job of UID <paramref name="jobUid"/> (null: any) and not being deleted.</summary>
    private async Task<V1Pod?> FindPodAsync(AgentWorkload workload, string? jobUid, CancellationToken cancellationToken)
    {
        if (workload.Kind == AgentWorkloadKind.Pod)
        {
            return await KubeApi.CallAsync(connection, "get", "pods", workload.Namespace,
                () => connection.Client.CoreV1.ReadNamespacedPodAsync(workload.Name, workload.Namespace, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }

        // The Job controller labels its pods job-name=NAME (Kubernetes 1.20 and later). A shared
        // agent's Job is deleted and made again under the same name, so the pod of the Job before
        // it (Failed, or being deleted) can still carry that label: only this Job's own pods count
        // (ownerReferences), and none that is being deleted.
        var pods = await KubeApi.CallAsync(connection, "list", "pods", workload.Namespace,
            () => connection.Client.CoreV1.ListNamespacedPodAsync(workload.Namespace, labelSelector: "job-name=" + workload.Name, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return pods?.Items?
            .Where(p => p.Metadata.DeletionTimestamp is null)
            .Where(p => jobUid is null || (p.Metadata.OwnerReferences?.Any(o => o.Uid == jobUid) ?? false))
            .OrderByDescending(p => p.Metadata.CreationTimestamp)
            .FirstOrDefault();
    }

    /// <summary>The agent container's log so far (<see cref="AgentLogs.ReadAsync"/>).</summary>
    private Task<string?> LogAsync(AgentWorkload workload, CancellationToken cancellationToken) =>
        AgentLogs.ReadAsync(connection, workload.Namespace, workload.PodName!, workload.Container, cancellationToken);

    /// <summary>The sentence for an agent that exited before it was ready: its exit code and its last error line.</summary>
    private async Task<string> ExitedAsync(AgentWorkload workload, V1Pod pod, CancellationToken cancellationToken)
    {
        var terminated = pod.Status?.ContainerStatuses?.FirstOrDefault(c => c.Name == workload.Container)?.State?.Terminated;
        var log = await LogAsync(workload, cancellationToken).ConfigureAwait(false);
        var last = (log ?? terminated?.Message ?? string.Empty)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .LastOrDefault()?.Replace("doppel-agent: ", string.Empty, StringComparison.Ordinal);
        var code = terminated is null ? $"(its pod is {pod.Status?.Phase})" : $"with code {terminated.ExitCode}";
        return $"The agent in pod {workload.Namespace}/{pod.Metadata.Name} on node {pod.Spec?.NodeName} exited {code} before it was ready" +
               (string.IsNullOrEmpty(last) ? "." : $": {last.TrimEnd('.')}.");
    }

    /// <summary>
    /// Why <paramref name="workload"/>'s agent is not ready (<see cref="AgentStartDiagnosis"/>): null
    /// while it is still starting normally; with <paramref name="timedOut"/> always a sentence, which
    /// also names the startup timeout.
    /// </summary>
    private async Task<string?> ExplainAsync(AgentWorkload workload, TimeSpan timeout, bool timedOut, CancellationToken cancellationToken)
    {
        var sentence = await AgentStartDiagnosis.ExplainAsync(connection, workload, timedOut, cancellationToken).ConfigureAwait(false);
        return timedOut && sentence is not null && !sentence.Contains("startup_timeout", StringComparison.Ordinal)
            ? $"{sentence.TrimEnd('.')} (agent.startup_timeout: {timeout.TotalSeconds:0} s)."
            : sentence;
    }
}
