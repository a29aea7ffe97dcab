using System.Globalization;
using System.Text.RegularExpressions;

namespace Doppel.Config.Targets;

/// <summary>
/// Parses target strings (<c>deployment/bff/container/app</c>, <c>pid/4242</c>, <c>label/app=x</c>, ...)
/// into <see cref="TargetConfig"/>. Errors are one sentence listing the accepted forms.
/// </summary>
public static partial class TargetParser
{
    public const string AcceptedForms =
        "use targetless, pod/NAME, deployment/NAME, rollout/NAME, job/NAME, cronjob/NAME, statefulset/NAME, " +
        "service/NAME, replicaset/NAME (each optionally followed by /container/NAME), label/KEY=VALUE[,KEY=VALUE], " +
        "pid/PID or container/ID";

    private static readonly Dictionary<string, TargetKind> s_workloads = new(StringComparer.OrdinalIgnoreCase)
    {
        ["pod"] = TargetKind.Pod,
        ["deployment"] = TargetKind.Deployment,
        ["deploy"] = TargetKind.Deployment,
        ["rollout"] = TargetKind.Rollout,
        ["job"] = TargetKind.Job,
        ["cronjob"] = TargetKind.CronJob,
        ["statefulset"] = TargetKind.StatefulSet,
        ["service"] = TargetKind.Service,
        ["replicaset"] = TargetKind.ReplicaSet,
    };

    /// <summary>Object keys of the <c>target.path</c> object form and the kinds they name.</summary>
    public static IReadOnlyDictionary<string, TargetKind> ObjectKeys { get; } = new Dictionary<string, TargetKind>(StringComparer.Ordinal)
    {
        ["pod"] = TargetKind.Pod,
        ["deployment"] = TargetKind.Deployment,
        ["rollout"] = TargetKind.Rollout,
        ["job"] = TargetKind.Job,
        ["cron_job"] = TargetKind.CronJob,
        ["stateful_set"] = TargetKind.StatefulSet,
        ["service"] = TargetKind.Service,
        ["replica_set"] = TargetKind.ReplicaSet,
    };

    /// <summary>
    /// A value as error messages show it: whole up to <see cref="ShownLength"/> characters, else its
    /// start and its length, so a runaway value (a whole file pasted as the target) cannot flood the
    /// terminal.
    /// </summary>
    public static string Shown(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Length <= ShownLength ? value : $"{value[..(ShownLength - 20)]}… ({value.Length} characters)";
    }

    /// <summary>The longest value error messages show whole.</summary>
    public const int ShownLength = 100;

    /// <summary>Parses <paramref name="text"/>; on failure returns null and a sentence saying what is wrong.</summary>
    public static TargetConfig? TryParse(string text, string? targetNamespace, out string? error)
    {
        error = null;
        var t = text.Trim();
        if (t.Length == 0)
        {
            error = $"the target is empty; {AcceptedForms}.";
            return null;
        }

        if (t.Equals("targetless", StringComparison.OrdinalIgnoreCase))
        {
            return new TargetConfig { Path = "targetless", Kind = TargetKind.Targetless, Namespace = targetNamespace };
        }

        var slash = t.IndexOf('/', StringComparison.Ordinal);
        var kindWord = slash < 0 ? t : t[..slash];
        var rest = slash < 0 ? string.Empty : t[(slash + 1)..];

        if (kindWord.Equals("pid", StringComparison.OrdinalIgnoreCase))
        {
            if (!int.TryParse(rest, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid <= 0)
            {
                error = $"'{Shown(text)}' is not a process target; write pid/PID with a positive process id, e.g. pid/4242.";
                return null;
            }

            return new TargetConfig { Path = $"pid/{pid}", Kind = TargetKind.Pid, Name = rest, Namespace = targetNamespace };
        }

        if (kindWord.Equals("container", StringComparison.OrdinalIgnoreCase))
        {
            if (!ContainerId().IsMatch(rest))
            {
                error = $"'{Shown(text)}' is not a container target; write container/ID with the container's ID (letters, digits, '_', '.', '-').";
                return null;
            }

            return new TargetConfig { Path = $"container/{rest}", Kind = TargetKind.Container, Name = rest, Namespace = targetNamespace };
        }

        if (kindWord.Equals("label", StringComparison.OrdinalIgnoreCase))
        {
            var labels = ParseLabels(rest, out var labelError);
            if (labels is null)
            {
                error = $"'{Shown(text)}' is not a label target: {labelError}; write label/KEY=VALUE[,KEY=VALUE].";
                return null;
            }

            return new TargetConfig { Path = $"label/{rest}", Kind = TargetKind.Label, Labels = labels, Namespace = targetNamespace };
        }

        if (!s_workloads.TryGetValue(kindWord, out var kind))
        {
            var hint = slash < 0 && t.Length <= 253 && ResourceName().IsMatch(t) ? $" (did you mean pod/{Shown(t)} or deployment/{Shown(t)}?)" : string.Empty;
            error = $"'{Shown(text)}' is not a target{hint}; {AcceptedForms}.";
            return null;
        }

        var parts = rest.Split('/');
        if (parts.Length is not (1 or 3) || (parts.Length == 3 && !parts[1].Equals("container", StringComparison.OrdinalIgnoreCase)))
        {
            error = $"'{Shown(text)}' is not a target; write {kindWord.ToLowerInvariant()}/NAME or {kindWord.ToLowerInvariant()}/NAME/container/CONTAINER.";
            return null;
        }

        // Names that Kubernetes would reject (upper case, '_') are only warned about by the binder:
        // published examples use placeholders such as pod/pod_name, and the cluster has the last word.
        var name = parts[0];
        if (!AnyName().IsMatch(name))
        {
            error = name.Length == 0
                ? $"'{Shown(text)}' names no {KindWord(kind)}; write {KindWord(kind)}/NAME."
                : $"'{Shown(name)}' in target '{Shown(text)}' is not a name: it holds spaces or control characters.";
            return null;
        }

        string? container = null;
        if (parts.Length == 3)
        {
            container = parts[2];
            if (!AnyName().IsMatch(container))
            {
                error = container.Length == 0
                    ? $"'{Shown(text)}' ends in /container/ but names no container; add the container's name."
                    : $"'{Shown(container)}' in target '{Shown(text)}' is not a container name: it holds spaces or control characters.";
                return null;
            }
        }

        return Build(kind, name, container, targetNamespace);
    }

    /// <summary>Builds the canonical target for a kind, name and optional container.</summary>
    public static TargetConfig Build(TargetKind kind, string name, string? container, string? targetNamespace)
    {
        var path = $"{KindWord(kind)}/{name}" + (container is null ? string.Empty : $"/container/{container}");
        return new TargetConfig { Path = path, Kind = kind, Name = name, Container = container, Namespace = targetNamespace };
    }

    public static string KindWord(TargetKind kind) => kind switch
    {
        TargetKind.Targetless => "targetless",
        TargetKind.Pod => "pod",
        TargetKind.Deployment => "deployment",
        TargetKind.Rollout => "rollout",
        TargetKind.Job => "job",
        TargetKind.CronJob => "cronjob",
        TargetKind.StatefulSet => "statefulset",
        TargetKind.Service => "service",
        TargetKind.ReplicaSet => "replicaset",
        TargetKind.Label => "label",
        TargetKind.Pid => "pid",
        TargetKind.Container => "container",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>True when Kubernetes accepts <paramref name="name"/> as a resource name (DNS-1123 subdomain).</summary>
    public static bool IsValidName(string name) => ResourceName().IsMatch(name);

    /// <summary>True when <paramref name="name"/> can at least be sent to the cluster (no spaces, control characters or '/').</summary>
    public static bool IsUsableName(string name) => AnyName().IsMatch(name);

    private static Dictionary<string, string>? ParseLabels(string text, out string? error)
    {
        error = null;
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in text.Split(',', StringSplitOptions.TrimEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                error = pair.Length == 0 ? "it has an empty selector" : $"'{pair}' is not KEY=VALUE";
                return null;
            }

            var key = pair[..eq];
            if (!labels.TryAdd(key, pair[(eq + 1)..]))
            {
                error = $"label '{key}' appears twice";
                return null;
            }
        }

        return labels;
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")]
    private static partial Regex ResourceName();

    [GeneratedRegex(@"^[^\s/\p{C}]{1,253}$")]
    private static partial Regex AnyName();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex ContainerId();
}
