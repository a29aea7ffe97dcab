namespace Doppel.Config.Tests.Loading;

/// <summary>
/// The configurations in /work/shared/examples as users publish them (JSON byte for byte), and
/// the same meaning written in YAML and TOML; plus one larger configuration using most shapes.
/// </summary>
internal static class SeedConfigs
{
    /// <summary>The published example, byte for byte (Examples/ is a copy of ../shared/examples).</summary>
    public static string Example(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Examples", name));

    public static string CommentedJson => Example("seed-commented.jsonc");

    public const string CommentedYaml = """
        kubeconfig: /path/to/kubeconfig # which kubeconfig file to use
        kube_context: context_name # which kube context
        target:
          path: pod/pod_name/container/container_name # target pod and container
          namespace: namespace_name # namespace of the target pod
        feature:
          env: true # read environment variables from the remote
          network:
            incoming:
              mode: mirror # mirror traffic; or steal, or off
          fs:
            mode: read # read files from the remote
        """;

    public const string CommentedToml = """
        kubeconfig = "/path/to/kubeconfig" # which kubeconfig file to use
        kube_context = "context_name" # which kube context

        [target]
        path = "pod/pod_name/container/container_name" # target pod and container
        namespace = "namespace_name" # namespace of the target pod

        [feature]
        env = true # read environment variables from the remote
        fs.mode = "read" # read files from the remote

        [feature.network.incoming]
        mode = "mirror" # mirror traffic; or steal, or off
        """;

    public static string MultiDeveloperJson => Example("seed-multi-developer.json");

    public const string MultiDeveloperYaml = """
        feature:
          env: true
          network:
            dns: true
            outgoing: { tcp: true, udp: true }
            incoming:
              mode: steal
              http_filter:
                header_filter: '^X-Dev-User: {{ get_env(name="USER", default="unknown") }}$'
        """;

    public const string MultiDeveloperToml = """
        [feature]
        env = true

        [feature.network]
        dns = true
        outgoing = { tcp = true, udp = true }

        [feature.network.incoming]
        mode = "steal"
        http_filter.header_filter = '^X-Dev-User: {{ get_env(name="USER", default="unknown") }}$'
        """;

    public static string SidecarLogsJson => Example("seed-sidecar-logs.json");

    public const string SidecarLogsYaml = """
        target:
          path: pod/test/container/dummy
          namespace: test
        feature:
          env: true
          network:
            outgoing:
              tcp: true
              udp: true
              filter:
                remote: ["169.254.169.254"]
          fs:
            mode: write
            read_write:
              - /var/audit-logs/audit.log
        """;

    public const string SidecarLogsToml = """
        target = { path = "pod/test/container/dummy", namespace = "test" }

        [feature]
        env = true

        [feature.network.outgoing]
        tcp = true
        udp = true
        filter.remote = ["169.254.169.254"]

        [feature.fs]
        mode = "write"
        read_write = [
          "/var/audit-logs/audit.log",
        ]
        """;

    public static string PrivilegedAgentJson => Example("seed-privileged-agent.json");

    public const string PrivilegedAgentYaml = """
        agent:
          privileged: true
        """;

    public const string PrivilegedAgentToml = """
        agent.privileged = true
        """;

    /// <summary>Numbers, nested arrays, arrays of objects, maps, nulls: the shapes the seeds lack.</summary>
    public const string EverythingJson = """
        {
          "target": { "path": { "deployment": "bff", "container": "app" }, "namespace": "shop" },
          "skip_processes": ["bash", "node-gyp"],
          "startup_retry": { "min_ms": 250, "max_ms": 4000, "max_retries": 3 },
          "internal_proxy": { "idle_timeout": 2.5, "log_level": null },
          "feature": {
            "env": {
              "include": "DB_*;REDIS_URL",
              "override": { "LOG_LEVEL": "debug", "EMPTY": "" }
            },
            "fs": {
              "mode": "localwithoverrides",
              "read_only": ["^/etc/app(/|$)", "\\.pem$"],
              "readonly_file_buffer": 64000
            },
            "network": {
              "incoming": {
                "mode": "steal",
                "port_mapping": [[8080, 80], [9443, 443]],
                "ignore_ports": [9999],
                "http_filter": {
                  "all_of": [
                    { "header": "^x-user: alice$" },
                    { "path": "^/api/" }
                  ],
                  "ports": [80]
                }
              },
              "outgoing": { "ignore_localhost": false, "filter": { "local": ["tcp://10.0.0.0/8:5432"] } }
            }
          }
        }
        """;

    public const string EverythingYaml = """
        target:
          path: { deployment: bff, container: app }
          namespace: shop
        skip_processes: [bash, node-gyp]
        startup_retry:
          min_ms: 250
          max_ms: 4000
          max_retries: 3
        internal_proxy:
          idle_timeout: 2.5
          log_level: ~
        feature:
          env:
            include: DB_*;REDIS_URL
            override:
              LOG_LEVEL: debug
              EMPTY: ""
          fs:
            mode: localwithoverrides
            read_only:
              - ^/etc/app(/|$)
              - '\.pem$'
            readonly_file_buffer: 64000
          network:
            incoming:
              mode: steal
              port_mapping:
                - [8080, 80]
                - [9443, 443]
              ignore_ports: [9999]
              http_filter:
                all_of:
                  - header: "^x-user: alice$"
                  - path: ^/api/
                ports: [80]
            outgoing:
              ignore_localhost: false
              filter:
                local: ["tcp://10.0.0.0/8:5432"]
        """;

    /// <summary>TOML has no null: the one null member of <see cref="EverythingJson"/> is left out.</summary>
    public const string EverythingToml = """
        skip_processes = ["bash", "node-gyp"]
        startup_retry = { min_ms = 250, max_ms = 4000, max_retries = 3 }

        [target]
        path = { deployment = "bff", container = "app" }
        namespace = "shop"

        [internal_proxy]
        idle_timeout = 2.5

        [feature.env]
        include = "DB_*;REDIS_URL"
        override.LOG_LEVEL = "debug"
        override.EMPTY = ""

        [feature.fs]
        mode = "localwithoverrides"
        read_only = ['^/etc/app(/|$)', '\.pem$']
        readonly_file_buffer = 64_000

        [feature.network.incoming]
        mode = "steal"
        port_mapping = [[8080, 80], [9443, 443]]
        ignore_ports = [9999]
        http_filter.ports = [80]

        [[feature.network.incoming.http_filter.all_of]]
        header = "^x-user: alice$"

        [[feature.network.incoming.http_filter.all_of]]
        path = "^/api/"

        [feature.network.outgoing]
        ignore_localhost = false
        filter = { local = ["tcp://10.0.0.0/8:5432"] }
        """;
}
