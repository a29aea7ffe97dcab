using System.Text.Json.Nodes;
using Doppel.Config.Loading;

namespace Doppel.Config.Binding;

/// <summary>
/// Every key of mirrord's configuration that doppel recognises without implementing it (taken
/// from mirrord-config: <c>lib.rs</c>, <c>agent.rs</c>, <c>feature.rs</c>, <c>internal_proxy.rs</c>,
/// <c>external_proxy.rs</c>, <c>container.rs</c>, <c>experimental.rs</c>, <c>ci.rs</c>). Together
/// with the keys the binder reads, this is mirrord's whole key set: anything else is a typo and an
/// error, as it is in mirrord (its file structs deny unknown fields). docs/configuration.md lists
/// the same entries.
/// </summary>
internal static class MirrordOnlyKeys
{
    private static readonly string[] s_object = ["object"];
    private static readonly string[] s_boolean = ["boolean"];
    private static readonly string[] s_string = ["string"];
    private static readonly string[] s_integer = ["integer"];

    private const string NoJqFilters = "a session taking requests by a filter doppel cannot apply would take the wrong ones; filter on headers, path, method or a JSON body (header_filter, path_filter, method_filter, body_filter, all_of, any_of) instead.";

    public static IReadOnlyList<MirrordOnlyKey> All { get; } =
    [
        new("api", s_boolean, "doppel has no session monitor API; the setting is ignored."),
        new("baggage", s_string, "it only tags requests to mirrord's operator, which doppel does not use; ignored."),
        new("traceparent", s_string, "it only tags requests to mirrord's operator, which doppel does not use; ignored."),
        new("ci", s_object, "doppel has no 'ci' command; ignored.", ["output_dir"]),
        new(
            "container",
            s_object,
            "doppel has no 'container' command (to run in the context of a container on this machine, use -t container/ID); ignored.",
            ["cli_extra_args", "cli_image", "cli_image_lib_path", "cli_prevent_cleanup", "cli_tls_path", "host_gateway_detection", "override_host_ip", "platform"]),
        new(
            "external_proxy",
            s_object,
            "it belongs to mirrord's container mode, which doppel does not have; ignored.",
            ["host_ip", "idle_timeout", "json_log", "log_destination", "log_level", "start_idle_timeout", "tls_enable"]),
        new(
            "internal_proxy",
            s_object,
            "doppel has no separate internal proxy: the session runs inside doppel and ends with the program, and its logs follow -v or DOPPEL_LOG; ignored.",
            ["idle_timeout", "json_log", "log_destination", "log_level", "ping_interval", "process_logging_interval", "socket_timeout", "start_idle_timeout"]),
        new("multi_cluster", s_boolean, "multi-cluster sessions need mirrord's operator; doppel uses the cluster of the kube context."),
        new("profile", s_string, "doppel does not fetch mirrord profiles from the cluster; the file is used as written."),
        new("use_proxy", s_boolean, "doppel leaves HTTP_PROXY and HTTPS_PROXY as they are."),
        new("sip_binaries", ["string", "array"], "nothing to do on Linux.", Handling: MirrordOnlyHandling.Silent),
        new("skip_sip", ["string", "array"], "nothing to do on Linux.", Handling: MirrordOnlyHandling.Silent),
        new(
            "experimental",
            s_object,
            "it is ignored.",
            [
                "applev", "browser_extension_config", "disable_reuseaddr", "dlopen_cgo", "enable_exec_hooks_linux", "go_asmcgocall",
                "guard_std_fds", "hide_ipv6_interfaces", "idle_local_http_connection_timeout", "ignore_system_proxy_config", "latency",
                "non_blocking_tcp_connect", "receive_delay", "sip_log_destination", "sip_utils", "tcp_ping4_mock", "transmit_delay",
                "trust_any_certificate", "use_dev_null",
            ],
            MirrordOnlyHandling.WarnEachKey),

        new(
            "feature.copy_target",
            ["boolean", "object"],
            "the session uses the target pod itself, not a copy of it.",
            ["enabled", "exclude_containers", "exclude_init_containers", "scale_down"]),
        new(
            "feature.db_branches",
            ["array", "object"],
            "no database branch is made: the app reaches the databases the target uses (through the pod when outgoing traffic goes there)."),
        new(
            "feature.split_queues",
            s_object,
            "queues are not split: the local app consumes from the same queues as the target (through the pod when outgoing traffic goes there), so the two compete for messages."),
        new(
            "feature.preview",
            s_object,
            "doppel does not create preview environments; ignored.",
            ["config_mounts", "creation_timeout_secs", "idle", "image", "labels", "replicas", "secret_mounts", "ttl_mins", "ttl_secs"]),
        new(
            "feature.magic",
            s_object,
            "none of mirrord's presets is applied (unsetting AWS_PROFILE and mapping ~/.aws, reading mounted volumes remotely); set feature.env.unset and the feature.fs rules yourself.",
            ["auto_mount", "aws", "turbo"]),
        new(
            "feature.network.incoming.https_delivery",
            s_object,
            "the agent does not terminate TLS: stolen TLS connections reach the local app as they arrive, and HTTP filters cannot look inside them.",
            ["protocol", "server_cert", "server_name", "trust_roots"]),
        new(
            "feature.network.incoming.tls_delivery",
            s_object,
            "the agent does not terminate TLS: stolen TLS connections reach the local app as they arrive, and HTTP filters cannot look inside them.",
            ["protocol", "server_cert", "server_name", "trust_roots"]),
        new("feature.network.incoming.http_filter.header_filter_jq", s_string, NoJqFilters, Handling: MirrordOnlyHandling.Error),

        new("agent.metrics", s_string, "the agent exports no Prometheus metrics; ignored."),
        new("agent.exclude_from_mesh", s_boolean, "the agent's port is not excluded from a service mesh sidecar; ignored."),
        new("agent.external_ip_fix", s_boolean, "ignored."),
        new("agent.inject_headers", s_boolean, "responses go back without Mirrord-Agent headers."),
        new("agent.override_cache_control", s_boolean, "Cache-Control headers of responses are left as they are."),
        new("agent.max_body_buffer_size", s_integer, "a body_filter reads at most 64 KiB of a body (beyond that: no match); ignored."),
        new("agent.max_body_buffer_timeout", s_integer, "a body_filter waits at most 1 s for a body (beyond that: no match); ignored."),
        new("agent.jaq_time_limit", s_integer, "doppel has no jq filters; ignored."),
        new("agent.resources.claims", ["array"], "the agent pod gets requests and limits only; ignored."),
    ];

    /// <summary>
    /// The values of experimental switches that ask for nothing doppel does not do, so they load
    /// silently: doppel's own behaviour is what they ask for (<c>enable_exec_hooks_linux: true</c>:
    /// programs a program executes are intercepted too; <c>tcp_ping4_mock: false</c>: ping sockets
    /// are not faked), they are mirrord's default where doppel's behaviour is the same, they only
    /// matter on macOS, or they tune mirrord's layer hooks, which doppel does not have (its
    /// interception is seccomp's, whatever the program). Any other value gets the warning.
    /// Defaults and meanings from mirrord-config <c>experimental.rs</c> (mirrord 3.x, 2026-08).
    /// A switch not listed here is warned about whatever its value.
    /// </summary>
    private static readonly Dictionary<string, Func<JsonNode?, bool>> s_quietSwitches = new(StringComparer.Ordinal)
    {
        ["tcp_ping4_mock"] = v => Is(v, false),
        ["trust_any_certificate"] = v => Is(v, false),
        ["enable_exec_hooks_linux"] = v => Is(v, true),
        ["hide_ipv6_interfaces"] = v => Is(v, false),
        ["disable_reuseaddr"] = v => v is null || Is(v, false),
        ["use_dev_null"] = _ => true,
        ["idle_local_http_connection_timeout"] = v => v is JsonValue n && n.TryGetValue(out long ms) && ms == 3000,
        ["ignore_system_proxy_config"] = v => Is(v, false),
        ["browser_extension_config"] = v => Is(v, false),
        ["sip_log_destination"] = _ => true,
        ["non_blocking_tcp_connect"] = v => Is(v, true),
        ["dlopen_cgo"] = v => Is(v, false),
        ["applev"] = _ => true,
        ["sip_utils"] = _ => true,
        ["go_asmcgocall"] = _ => true,
        ["guard_std_fds"] = v => v is null,
        ["transmit_delay"] = v => v is JsonValue n && n.TryGetValue(out long ms) && ms == 0,
        ["receive_delay"] = v => v is JsonValue n && n.TryGetValue(out long ms) && ms == 0,
    };

    private static readonly Dictionary<string, MirrordOnlyKey> s_byPath = All.ToDictionary(k => k.Path, StringComparer.Ordinal);

    public static MirrordOnlyKey? Find(string path) => s_byPath.GetValueOrDefault(path);

    /// <summary>The names of the entries directly inside <paramref name="parent"/>, for "did you mean".</summary>
    public static IEnumerable<string> NamesUnder(string parent) => All.Where(k => k.Parent == parent).Select(k => k.Name);

    /// <summary>Tells the user about <paramref name="key"/>, set at <paramref name="path"/> to <paramref name="value"/>.</summary>
    public static void Report(BindContext context, MirrordOnlyKey key, string path, JsonNode? value)
    {
        switch (key.Handling)
        {
            case MirrordOnlyHandling.Error:
                context.Error(path, key.Message);
                return;
            case MirrordOnlyHandling.Warn:
                context.Warn(path, key.Message);
                break;
            case MirrordOnlyHandling.WarnEachKey when value is JsonObject switches:
                foreach (var (name, switchValue) in switches)
                {
                    if (key.Keys!.Contains(name) && !(s_quietSwitches.TryGetValue(name, out var quiet) && quiet(switchValue)))
                    {
                        context.Warn(SourceMap.Child(path, name), "a mirrord switch that doppel does not implement; it is ignored.");
                    }
                }

                break;
            case MirrordOnlyHandling.WarnEachKey:
                context.Error(path, $"expected an object of switches, found {NodeDescriptions.Describe(value)}.");
                return;
        }

        if (key.Keys is { } known && value is JsonObject members)
        {
            foreach (var (name, _) in members)
            {
                if (!known.Contains(name))
                {
                    context.Error(SourceMap.Child(path, name), KeySuggestions.UnknownKey(name, path, known));
                }
            }
        }
    }

    private static bool Is(JsonNode? value, bool expected) => value is JsonValue v && v.TryGetValue(out bool b) && b == expected;
}
