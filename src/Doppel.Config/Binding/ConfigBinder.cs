using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Doppel.Config.Filters;
using Doppel.Config.Loading;
using Doppel.Config.Logging;
using Doppel.Config.Targets;

namespace Doppel.Config.Binding;

/// <summary>
/// Binds the (shorthand-expanded, overridden) JSON tree to <see cref="DoppelConfig"/> and checks
/// it in the same pass: types, ranges, regexes, mutually exclusive keys, target and filter
/// syntax. Every problem becomes an error or a warning in the <see cref="BindContext"/>.
/// </summary>
internal static class ConfigBinder
{
    private static readonly (string, FsMode)[] s_fsModes =
        [("local", FsMode.Local), ("localwithoverrides", FsMode.LocalWithOverrides), ("read", FsMode.Read), ("write", FsMode.Write)];

    private static readonly (string, IncomingMode)[] s_incomingModes =
        [("mirror", IncomingMode.Mirror), ("steal", IncomingMode.Steal), ("off", IncomingMode.Off)];

    private static readonly (string, ConcurrentStealMode)[] s_concurrentSteal =
        [("abort", ConcurrentStealMode.Abort), ("continue", ConcurrentStealMode.Continue), ("override", ConcurrentStealMode.Override)];

    private static readonly string[] s_pullPolicies = ["Always", "IfNotPresent", "Never"];
    private static readonly string[] s_httpFilterKinds = ["header_filter", "path_filter", "method_filter", "body_filter", "all_of", "any_of"];
    private static readonly string[] s_ruleKinds = ["header", "path", "method"];
    private static readonly string[] s_bodyFilterParts = ["query", "matches"];

    public static DoppelConfig Bind(JsonObject root, BindContext context)
    {
        var r = new ObjectReader(context, root, string.Empty);
        var defaults = new DoppelConfig();
        var config = new DoppelConfig
        {
            Target = r.Object("target", null, Target, "a target string such as \"deployment/x\" or an object with path and namespace"),
            Feature = r.Object("feature", defaults.Feature, Feature),
            Agent = r.Object("agent", defaults.Agent, Agent),
            Operator = r.OptionalBool("operator"),
            Kubeconfig = r.OptionalText("kubeconfig"),
            KubeContext = r.OptionalText("kube_context"),
            AcceptInvalidCertificates = r.Bool("accept_invalid_certificates", defaults.AcceptInvalidCertificates),
            SkipProcesses = r.StringList("skip_processes", splitOnSemicolon: true) ?? defaults.SkipProcesses,
            SkipBuildTools = r.Bool("skip_build_tools", defaults.SkipBuildTools),
            SkipExtraBuildTools = r.StringList("skip_extra_build_tools", splitOnSemicolon: true) ?? defaults.SkipExtraBuildTools,
            StartupRetry = r.Object("startup_retry", defaults.StartupRetry, StartupRetry),
            Key = r.String("key"),
            Telemetry = r.Bool("telemetry", defaults.Telemetry),
        };
        r.Finish();

        // On Linux, mirrord's extra build tools are skipped processes (it only adds SIP patching
        // on macOS), and only while skip_build_tools is on.
        if (config.SkipBuildTools && config.SkipExtraBuildTools.Count > 0)
        {
            config = config with { SkipProcesses = [.. config.SkipProcesses, .. config.SkipExtraBuildTools.Except(config.SkipProcesses, StringComparer.Ordinal)] };
        }

        CheckTargetNeeds(root, config, context);
        return config;
    }

    /// <summary>
    /// What needs a target pod fails without one, as in mirrord's <c>LayerConfig::verify</c>:
    /// steal, an ephemeral agent, copy_target. No target at all counts as targetless unless the
    /// target may still be chosen (<c>verify-config --ide</c>).
    /// </summary>
    private static void CheckTargetNeeds(JsonObject root, DoppelConfig config, BindContext context)
    {
        var missing = config.Target is null;
        if (missing ? context.TargetChosenLater : config.Target!.Kind != TargetKind.Targetless)
        {
            return;
        }

        var give = missing
            ? "no target is given; give one with -t/--target or \"target\" in the file"
            : "the session is targetless; give a target";
        if (config.Feature.Network.Incoming.Mode == IncomingMode.Steal)
        {
            context.Error("feature.network.incoming.mode", $"steal takes traffic from a target's pod, but {give}, or use mirror mode.");
        }

        if (config.Agent.Ephemeral)
        {
            context.Error("agent.ephemeral", $"an ephemeral agent container joins the target's pod, but {give}, or remove ephemeral.");
        }

        var copyTarget = (root["feature"] as JsonObject)?["copy_target"];
        var copies = copyTarget?.GetValueKind() == JsonValueKind.True
            || (copyTarget is JsonObject copy && copy["enabled"]?.GetValueKind() != JsonValueKind.False);
        if (copies)
        {
            context.Error("feature.copy_target", $"copy_target copies the target's pod, but {give}, or remove copy_target.");
        }
    }

    private static TargetConfig? Target(ObjectReader r)
    {
        var ns = r.OptionalText("namespace");
        if (ns is not null)
        {
            CheckName(r, "namespace", ns, "namespace");
        }

        // Shorthands moved {"pod": "x", "container": "c"} written directly under target into
        // path; what is still here was written next to a path.
        var beside = TargetParser.ObjectKeys.Keys.Append("labels").Append("container").Where(r.Has).ToList();
        var path = r.Raw("path");
        if (path is not null && beside.Count > 0)
        {
            r.Error(beside[0], $"the target is given twice, as path and as {beside[0]}; keep one of them.");
            return null;
        }

        switch (path)
        {
            case null:
                // { "namespace": "x" } alone: no target chosen yet (targetless unless a flag gives one).
                return null;
            case JsonObject obj:
                return TargetObject(new ObjectReader(r.Context, obj, r.PathOf("path")), ns);
            default:
                if (path.GetValueKind() != JsonValueKind.String)
                {
                    r.Error("path", $"expected a target string such as \"deployment/x\" or an object such as {{\"deployment\": \"x\"}}, found {NodeDescriptions.Describe(path)}.");
                    return null;
                }

                var target = TargetParser.TryParse(path.GetValue<string>(), ns, out var error);
                if (target is null)
                {
                    r.Error("path", error!);
                    return null;
                }

                WarnAboutNames(r, "path", target);
                return target;
        }
    }

    private static TargetConfig? TargetObject(ObjectReader r, string? ns)
    {
        var container = r.String("container");
        var labels = r.StringMap("labels");
        var given = TargetParser.ObjectKeys.Keys.Where(r.Has).ToList();
        r.Finish();

        if (labels is not null)
        {
            if (given.Count > 0)
            {
                r.Context.Error(r.Path, $"give either labels or one of {string.Join(", ", TargetParser.ObjectKeys.Keys)}, not both.");
                return null;
            }

            if (labels.Count == 0)
            {
                r.Error("labels", "the label selector is empty; give at least one label.");
                return null;
            }

            var text = string.Join(',', labels.Select(kv => $"{kv.Key}={kv.Value}"));
            return new TargetConfig { Path = $"label/{text}", Kind = TargetKind.Label, Labels = labels, Container = container, Namespace = ns };
        }

        if (given.Count != 1)
        {
            r.Context.Error(r.Path, given.Count == 0
                ? $"the target object names no resource; give one of {string.Join(", ", TargetParser.ObjectKeys.Keys)} (and optionally container)."
                : $"the target object names {string.Join(" and ", given)}; give exactly one.");
            return null;
        }

        var kindKey = given[0];
        var name = r.String(kindKey);
        if (name is null)
        {
            return null;
        }

        if (!CheckName(r, kindKey, name, "name") | (container is not null && !CheckName(r, "container", container, "container name")))
        {
            return null;
        }

        return TargetParser.Build(TargetParser.ObjectKeys[kindKey], name, container, ns);
    }

    private static void WarnAboutNames(ObjectReader r, string key, TargetConfig target)
    {
        if (target.Kind is TargetKind.Targetless or TargetKind.Label or TargetKind.Pid or TargetKind.Container)
        {
            return;
        }

        foreach (var (name, what) in new[] { (target.Name, "name"), (target.Container, "container name") })
        {
            if (name is not null && !TargetParser.IsValidName(name))
            {
                r.Context.Warn(r.PathOf(key), $"'{name}' is not a valid Kubernetes {what} (lower-case letters, digits, '-' and '.'), so the cluster will not find it.");
            }
        }
    }

    /// <summary>Unusable names are errors; names Kubernetes would reject are warnings (examples use placeholders such as pod_name).</summary>
    private static bool CheckName(ObjectReader r, string key, string name, string what)
    {
        if (!TargetParser.IsUsableName(name))
        {
            r.Error(key, $"'{name}' is not a {what}: it is empty or holds spaces, '/' or control characters.");
            return false;
        }

        if (!TargetParser.IsValidName(name))
        {
            r.Context.Warn(r.PathOf(key), $"'{name}' is not a valid Kubernetes {what} (lower-case letters, digits, '-' and '.'), so the cluster will not find it.");
        }

        return true;
    }

    private static FeatureConfig Feature(ObjectReader r)
    {
        var d = new FeatureConfig();
        return new FeatureConfig
        {
            Env = r.Object("env", d.Env, Env, "true, false or an object"),
            Fs = r.Object("fs", d.Fs, Fs, "true, false, a mode (local, localwithoverrides, read, write) or an object"),
            Network = r.Object("network", d.Network, Network),
            Hostname = r.Bool("hostname", d.Hostname),
        };
    }

    private static EnvConfig Env(ObjectReader r)
    {
        var d = new EnvConfig();
        var env = new EnvConfig
        {
            Enabled = r.Bool("enabled", d.Enabled),
            Include = r.StringList("include", splitOnSemicolon: true),
            Exclude = r.StringList("exclude", splitOnSemicolon: true),
            Override = r.StringMap("override") ?? d.Override,
            Mapping = r.StringMap("mapping") ?? d.Mapping,
            Unset = r.StringList("unset", splitOnSemicolon: true) ?? d.Unset,
            EnvFile = r.String("env_file"),
            LoadFromProcess = r.OptionalBool("load_from_process"),
        };

        foreach (var pattern in env.Mapping.Keys)
        {
            r.CompileRegex(pattern, SourceMap.Child(r.PathOf("mapping"), pattern));
        }

        if (env.Include is not null && env.Exclude is not null)
        {
            r.Error("exclude", "include and exclude cannot both be set: include already imports only the variables it lists; remove one of them.");
        }

        return env;
    }

    private static FsConfig Fs(ObjectReader r)
    {
        var d = new FsConfig();
        List<Regex> readWrite = [], readOnly = [], local = [], notFound = [];
        var fs = new FsConfig
        {
            Mode = r.Enum("mode", d.Mode, s_fsModes),
            ReadWrite = r.RegexList("read_write", readWrite) ?? d.ReadWrite,
            ReadOnly = r.RegexList("read_only", readOnly) ?? d.ReadOnly,
            Local = r.RegexList("local", local) ?? d.Local,
            NotFound = r.RegexList("not_found", notFound) ?? d.NotFound,
            Mapping = r.StringMap("mapping") ?? d.Mapping,
            ReadonlyFileBuffer = r.Int("readonly_file_buffer", d.ReadonlyFileBuffer, 0, 64 * 1024 * 1024),
        };

        var mapping = new List<KeyValuePair<Regex, string>>();
        foreach (var (pattern, replacement) in fs.Mapping)
        {
            if (r.CompileRegex(pattern, SourceMap.Child(r.PathOf("mapping"), pattern)) is { } regex)
            {
                mapping.Add(new(regex, replacement));
            }
        }

        return fs with { Rules = new FsRules(readWrite, readOnly, local, notFound, mapping) };
    }

    private static NetworkConfig Network(ObjectReader r)
    {
        var d = new NetworkConfig();
        return new NetworkConfig
        {
            Incoming = r.Object("incoming", d.Incoming, Incoming, "true, false, a mode (mirror, steal, off) or an object"),
            Outgoing = r.Object("outgoing", d.Outgoing, Outgoing, "true, false or an object"),
            Dns = r.Object("dns", d.Dns, Dns, "true, false or an object"),
            Ipv6 = r.Bool("ipv6", d.Ipv6),
        };
    }

    private static IncomingConfig Incoming(ObjectReader r)
    {
        var d = new IncomingConfig();
        var incoming = new IncomingConfig
        {
            Mode = r.Enum("mode", d.Mode, s_incomingModes),
            PortMapping = r.PortPairs("port_mapping", "[local, remote]") ?? d.PortMapping,
            ListenPorts = r.PortPairs("listen_ports", "[remote, local]") ?? d.ListenPorts,
            IgnorePorts = r.PortList("ignore_ports") ?? d.IgnorePorts,
            Ports = r.PortList("ports"),
            IgnoreLocalhost = r.Bool("ignore_localhost", d.IgnoreLocalhost),
            OnConcurrentSteal = r.Enum("on_concurrent_steal", d.OnConcurrentSteal, s_concurrentSteal),
            HttpFilter = r.Object("http_filter", d.HttpFilter, HttpFilter),
        };

        if (r.Has("ports") && r.Has("ignore_ports"))
        {
            r.Error("ignore_ports", "ports and ignore_ports cannot both be set: ports already lists the only ports taken; remove one of them.");
        }

        return incoming;
    }

    private static HttpFilterConfig HttpFilter(ObjectReader r)
    {
        var filter = new HttpFilterConfig
        {
            HeaderFilter = HeaderFilterRegex(r, "header_filter"),
            PathFilter = FilterRegex(r, "path_filter"),
            MethodFilter = FilterRegex(r, "method_filter"),
            BodyFilter = r.Object("body_filter", null, BodyFilter, "an object such as {\"body\": \"json\", \"query\": \"$.user\", \"matches\": \"^alice$\"}"),
            AllOf = FilterRules(r, "all_of"),
            AnyOf = FilterRules(r, "any_of"),
            Ports = r.PortList("ports"),
        };

        var kinds = s_httpFilterKinds.Where(r.Has).ToList();
        if (kinds.Count > 1)
        {
            r.Error(kinds[1], $"{string.Join(" and ", kinds)} cannot be combined; use one of them, or all_of/any_of to combine rules.");
        }

        return filter;
    }

    /// <summary>
    /// A filter regex; an empty one is an error (mirrord's <c>ensure_no_empty_strings</c>): it
    /// would match every request, which is never what a filter is written for.
    /// </summary>
    private static string? FilterRegex(ObjectReader r, string key)
    {
        var value = r.Regex(key);
        if (value is { Length: 0 })
        {
            r.Error(key, $"the {key} is empty, so it would match every request; write the regex to match, or remove {key}.");
            return null;
        }

        return value;
    }

    /// <summary>
    /// A header filter regex, with a warning when it is not anchored at both ends: it is searched
    /// in each "Name: value", so 'X-Dev-User: al' takes alice's requests too. Only a warning: the
    /// configuration stays valid, and a filter may mean to match loosely.
    /// </summary>
    private static string? HeaderFilterRegex(ObjectReader r, string key)
    {
        var value = FilterRegex(r, key);
        if (value is not null && HeaderFilterAnchors.Suggestion(value) is { } anchored)
        {
            r.Context.Warn(r.PathOf(key), $"'{value}' is not anchored, so it also matches any header that merely contains it (a longer value too); write '{anchored}' to match only that header and value.");
        }

        return value;
    }

    /// <summary>
    /// mirrord's body filter, <c>{"body": "json", "query": JSONPATH, "matches": REGEX}</c>, as
    /// <c>body_filter</c> or as a rule of <c>all_of</c>/<c>any_of</c>; null (with errors) when a part
    /// is missing, empty or invalid.
    /// </summary>
    private static HttpBodyFilterConfig? BodyFilter(ObjectReader r)
    {
        var body = r.String("body");
        var query = r.String("query");
        var matches = FilterRegex(r, "matches");
        var ok = true;
        if (body is null)
        {
            r.Context.Error(r.Path, "the body filter does not say its format; add \"body\": \"json\" (the only format mirrord and doppel know).");
            ok = false;
        }
        else if (!body.Equals("json", StringComparison.Ordinal))
        {
            r.Error("body", $"'{body}' is not a body format doppel knows; the only one is \"json\" (as in mirrord).");
            ok = false;
        }

        if (query is null || matches is null)
        {
            // A key that is there but wrong has its own error already; name only the missing ones.
            var missing = string.Join(" and ", s_bodyFilterParts.Where(key => !r.Has(key)));
            if (missing.Length > 0)
            {
                r.Context.Error(r.Path, $"the body filter has no {missing}; write {{\"body\": \"json\", \"query\": \"$.user.name\", \"matches\": \"^alice$\"}}.");
            }

            return null;
        }

        var problem = query.Length == 0 ? "the query is empty"
            : r.Context.JsonPathCheck is { } check ? check(query)
            : query[0] == '$' ? null : "a JSONPath query starts with '$' (the document root)";
        if (problem is not null)
        {
            r.Error("query", $"'{query}' is not a JSONPath query doppel can evaluate: {problem}.");
            return null;
        }

        return ok ? new HttpBodyFilterConfig { Body = body!, Query = query, Matches = matches } : null;
    }

    private static IReadOnlyList<HttpFilterRule>? FilterRules(ObjectReader r, string key)
    {
        var node = r.Raw(key);
        if (node is null)
        {
            return null;
        }

        if (node is not JsonArray array)
        {
            r.Error(key, $"expected a list of {{\"header\"|\"path\"|\"method\": REGEX}} rules, found {NodeDescriptions.Describe(node)}.");
            return null;
        }

        if (array.Count == 0)
        {
            r.Error(key, $"{key} is empty, so it would match {(key == "all_of" ? "every" : "no")} request; give at least one rule or remove it.");
            return null;
        }

        var rules = new List<HttpFilterRule>();
        for (var i = 0; i < array.Count; i++)
        {
            var path = SourceMap.Element(r.PathOf(key), i);
            if (array[i] is not JsonObject obj)
            {
                r.Context.Error(path, $"expected a rule such as {{\"header\": \"^x-user: me$\"}}, found {NodeDescriptions.Describe(array[i])}.");
                continue;
            }

            var rule = new ObjectReader(r.Context, obj, path);
            if (rule.Has("body"))
            {
                // mirrord writes a body rule flat: {"body": "json", "query": ..., "matches": ...}.
                if (BodyFilter(rule) is { } body)
                {
                    rules.Add(new HttpFilterRule { Body = body.Body, Query = body.Query, Matches = body.Matches });
                }

                rule.Finish();
                continue;
            }

            var bound = new HttpFilterRule { Header = HeaderFilterRegex(rule, "header"), Path = FilterRegex(rule, "path"), Method = FilterRegex(rule, "method") };
            var set = s_ruleKinds.Count(rule.Has);
            rule.Finish();
            if (set != 1)
            {
                r.Context.Error(path, set == 0
                    ? "the rule is empty; give one of header, path or method, or a body rule {\"body\": \"json\", \"query\": ..., \"matches\": ...}."
                    : "a rule holds exactly one of header, path or method; split it into several rules.");
                continue;
            }

            rules.Add(bound);
        }

        return rules;
    }

    private static OutgoingConfig Outgoing(ObjectReader r)
    {
        var d = new OutgoingConfig();
        return new OutgoingConfig
        {
            Tcp = r.Bool("tcp", d.Tcp),
            Udp = r.Bool("udp", d.Udp),
            IgnoreLocalhost = r.Bool("ignore_localhost", d.IgnoreLocalhost),
            Filter = r.Object("filter", null, AddressFilters),
            UnixStreams = r.RegexList("unix_streams") ?? d.UnixStreams,
        };
    }

    private static DnsConfig Dns(ObjectReader r)
    {
        var d = new DnsConfig();
        return new DnsConfig
        {
            Enabled = r.Bool("enabled", d.Enabled),
            Filter = r.Object("filter", null, AddressFilters),
        };
    }

    private static OutgoingFilterConfig? AddressFilters(ObjectReader r)
    {
        var remote = r.StringList("remote");
        var local = r.StringList("local");
        if (remote is not null && local is not null)
        {
            r.Error("local", "remote and local cannot both be set: remote sends only its entries through the pod, local keeps only its entries local; keep one.");
            return null;
        }

        if (remote is null && local is null)
        {
            r.Context.Error(r.Path, "the filter is empty; give remote: [...] or local: [...].");
            return null;
        }

        var key = remote is not null ? "remote" : "local";
        var entries = remote ?? local!;
        var parsed = new List<AddressFilter>();
        for (var i = 0; i < entries.Count; i++)
        {
            if (AddressFilterParser.TryParse(entries[i], out var error) is { } filter)
            {
                parsed.Add(filter);
            }
            else
            {
                r.Context.Error(SourceMap.Element(r.PathOf(key), i), error!);
            }
        }

        return new OutgoingFilterConfig { Remote = remote, Local = local, Parsed = parsed };
    }

    private static AgentConfig Agent(ObjectReader r)
    {
        var d = new AgentConfig();
        var agent = new AgentConfig
        {
            Image = AgentImage(r, d.Image),
            ImagePullPolicy = r.OptionalText("image_pull_policy") is null ? d.ImagePullPolicy : r.OneOf("image_pull_policy", s_pullPolicies) ?? d.ImagePullPolicy,
            ImagePullSecrets = r.RawObjectList("image_pull_secrets") ?? d.ImagePullSecrets,
            Namespace = r.OptionalText("namespace"),
            LogLevel = LogLevel(r, "log_level") ?? d.LogLevel,
            JsonLog = r.Bool("json_log", d.JsonLog),
            Ttl = r.Int("ttl", d.Ttl, 0, 86_400),
            Ephemeral = r.Bool("ephemeral", d.Ephemeral),
            CommunicationTimeout = r.Int("communication_timeout", d.CommunicationTimeout, 1, 3_600),
            StartupTimeout = r.Int("startup_timeout", d.StartupTimeout, 1, 3_600),
            Privileged = r.Bool("privileged", d.Privileged),
            DisabledCapabilities = Capabilities(r) ?? d.DisabledCapabilities,
            Tolerations = r.RawObjectList("tolerations") ?? d.Tolerations,
            Resources = r.Object("resources", d.Resources, Resources),
            SecurityContext = r.RawObject("security_context"),
            NodeSelector = r.StringMap("node_selector") ?? d.NodeSelector,
            PriorityClass = r.OptionalText("priority_class"),
            ServiceAccount = r.OptionalText("service_account"),
            Labels = r.StringMap("labels") ?? d.Labels,
            Annotations = r.StringMap("annotations") ?? d.Annotations,
            DisableMeshSidecarInjection = r.Bool("disable_mesh_sidecar_injection", d.DisableMeshSidecarInjection),
            FlushConnections = r.Bool("flush_connections", d.FlushConnections),
            Nftables = r.OptionalBool("nftables"),
            CleanIptablesOnStart = r.Bool("clean_iptables_on_start", d.CleanIptablesOnStart),
            Dns = r.Object("dns", d.Dns, AgentDns),
            HttpDetectionTimeout = r.Int("http_detection_timeout", d.HttpDetectionTimeout, 0, 600),
            CheckOutOfPods = r.Bool("check_out_of_pods", d.CheckOutOfPods),
        };

        if (agent.Ephemeral && agent.Privileged)
        {
            r.Context.Warn(r.PathOf("privileged"), "an ephemeral agent container cannot be privileged; privileged is ignored with ephemeral.");
        }

        return agent;
    }

    private static AgentImageConfig AgentImage(ObjectReader r, AgentImageConfig fallback)
    {
        var node = r.Raw("image");
        if (node is null)
        {
            return fallback;
        }

        if (node.GetValueKind() == JsonValueKind.String)
        {
            // "" is "not set" (IDEs write it so): the default image.
            var image = node.GetValue<string>().Trim();
            if (image.Length == 0)
            {
                return fallback;
            }

            var colon = image.LastIndexOf(':');
            var hasTag = colon > image.LastIndexOf('/');
            if (hasTag && (colon == 0 || colon == image.Length - 1))
            {
                r.Error("image", $"'{image}' is not an image reference; write NAME or NAME:TAG, e.g. registry.example/doppel-agent:1.2.3.");
                return fallback;
            }

            return hasTag ? new AgentImageConfig { Registry = image[..colon], Tag = image[(colon + 1)..] } : new AgentImageConfig { Registry = image };
        }

        return r.Object("image", fallback, i => new AgentImageConfig
        {
            Registry = i.OptionalText("registry") ?? fallback.Registry,
            Tag = i.OptionalText("tag") ?? fallback.Tag,
        }, "an image string such as \"name:tag\" or an object with registry and tag");
    }

    private static string? LogLevel(ObjectReader r, string key)
    {
        var value = r.OptionalText(key);
        if (value is null)
        {
            return null;
        }

        // RUST_LOG-style values ("warn,doppel=debug") are accepted, with the words DOPPEL_LOG takes (one parser: LogLevels).
        if (LogLevels.UnknownLevels(value) is [var unknown, ..])
        {
            r.Error(key, $"'{unknown}' is not a log level; use {LogLevels.ValidLevels} (optionally as target=level, comma-separated).");
            return null;
        }

        return value;
    }

    private static IReadOnlyList<string>? Capabilities(ObjectReader r)
    {
        var node = r.Raw("disabled_capabilities");
        var caps = r.StringList("disabled_capabilities");
        if (caps is null)
        {
            return null;
        }

        var result = new List<string>();
        for (var i = 0; i < caps.Count; i++)
        {
            var cap = caps[i].ToUpperInvariant();
            cap = cap.StartsWith("CAP_", StringComparison.Ordinal) ? cap[4..] : cap;
            if (!AgentConfig.DefaultCapabilities.Contains(cap))
            {
                var path = node is JsonArray ? SourceMap.Element(r.PathOf("disabled_capabilities"), i) : r.PathOf("disabled_capabilities");
                r.Context.Error(path, $"'{caps[i]}' is not a capability the agent gets; only {string.Join(", ", AgentConfig.DefaultCapabilities)} can be disabled.");
                continue;
            }

            result.Add(cap);
        }

        return result;
    }

    private static AgentResourcesConfig Resources(ObjectReader r)
    {
        var d = new AgentResourcesConfig();
        return new AgentResourcesConfig
        {
            Requests = r.Object("requests", d.Requests, Amounts),
            Limits = r.Object("limits", d.Limits, Amounts),
        };

        static ResourceAmounts Amounts(ObjectReader a) => new() { Cpu = a.String("cpu"), Memory = a.String("memory") };
    }

    private static AgentDnsConfig AgentDns(ObjectReader r) => new()
    {
        Timeout = r.OptionalInt("timeout", 1, 300),
        Attempts = r.OptionalInt("attempts", 1, 100),
    };

    private static StartupRetryConfig StartupRetry(ObjectReader r)
    {
        var d = new StartupRetryConfig();
        var retry = new StartupRetryConfig
        {
            MinMs = r.Int("min_ms", d.MinMs, 0, 600_000),
            MaxMs = r.Int("max_ms", d.MaxMs, 0, 600_000),
            MaxRetries = r.Int("max_retries", d.MaxRetries, 0, 1_000),
        };

        if (retry.MinMs > retry.MaxMs)
        {
            r.Error("min_ms", $"min_ms ({retry.MinMs}) is larger than max_ms ({retry.MaxMs}); the first wait cannot be longer than the longest.");
        }

        return retry;
    }
}
