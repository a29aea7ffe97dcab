using Doppel.Config.Output;
using Doppel.Config.Tests.Support;

namespace Doppel.Config.Tests.Resolution;

/// <summary>The same configuration written as JSON, JSONC, YAML and TOML resolves identically.</summary>
public sealed class FormatTests
{
    private const string Json = """
        {
          "target": {"path": "deployment/bff/container/app", "namespace": "dev"},
          "feature": {
            "fs": {"mode": "write", "read_write": ["^/var/log/.*"]},
            "network": {
              "incoming": {"mode": "steal", "http_filter": {"header_filter": "^x-user: me$"}, "port_mapping": [[8080, 80]]},
              "outgoing": {"filter": {"local": ["tcp://10.0.0.0/8:5432", "db.local"]}}
            }
          },
          "agent": {"ttl": 30}
        }
        """;

    private const string Jsonc = """
        {
          // the developer's own pod
          "target": {"path": "deployment/bff/container/app", "namespace": "dev",},
          "feature": {
            /* files */
            "fs": {"mode": "write", "read_write": ["^/var/log/.*",],},
            "network": {
              "incoming": {"mode": "steal", "http_filter": {"header_filter": "^x-user: me$"}, "port_mapping": [[8080, 80]]},
              "outgoing": {"filter": {"local": ["tcp://10.0.0.0/8:5432", "db.local"]}},
            },
          },
          "agent": {"ttl": 30}, // trailing comma and comment
        }
        """;

    private const string Yaml = """
        target:
          path: deployment/bff/container/app
          namespace: dev
        feature:
          fs:
            mode: write
            read_write: ["^/var/log/.*"]
          network:
            incoming:
              mode: steal
              http_filter:
                header_filter: "^x-user: me$"
              port_mapping: [[8080, 80]]
            outgoing:
              filter:
                local:
                  - tcp://10.0.0.0/8:5432
                  - db.local
        agent:
          ttl: 30
        """;

    private const string Toml = """
        [target]
        path = "deployment/bff/container/app"
        namespace = "dev"

        [feature.fs]
        mode = "write"
        read_write = ["^/var/log/.*"]

        [feature.network.incoming]
        mode = "steal"
        port_mapping = [[8080, 80]]
        http_filter = { header_filter = "^x-user: me$" }

        [feature.network.outgoing.filter]
        local = ["tcp://10.0.0.0/8:5432", "db.local"]

        [agent]
        ttl = 30
        """;

    [Theory]
    [InlineData("doppel.jsonc", Jsonc)]
    [InlineData("mirrord.yaml", Yaml)]
    [InlineData("mirrord.yml", Yaml)]
    [InlineData("mirrord.toml", Toml)]
    [InlineData("mirrord", Json)]
    public void EveryFormatResolvesLikeJson(string name, string text)
    {
        var env = new Dictionary<string, string> { ["MIRRORD_KEY"] = "fixed" };
        var expected = ConfigJson.Serialize(Load.Text(Json, "mirrord.json", env).Config);

        var loaded = Load.Text(text, name, env);

        Assert.Equal(expected, ConfigJson.Serialize(loaded.Config));
        Assert.Empty(loaded.Warnings);
        Assert.Equal(2, loaded.Config.Feature.Network.Outgoing.Filter!.Parsed.Count);
    }

    [Fact]
    public void AnUnknownExtensionIsRejectedWithTheAcceptedOnes()
    {
        var errors = Load.Errors("{}", "mirrord.ini");

        Assert.Contains(".toml", Assert.Single(errors).Message, StringComparison.Ordinal);
    }
}
