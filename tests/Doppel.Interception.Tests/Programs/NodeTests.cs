using System.Net;
using Doppel.Interception.Policy;
using Doppel.Interception.Tests.Support;

namespace Doppel.Interception.Tests.Programs;

public sealed class NodeTests
{
    [Fact]
    public async Task NodeReadsRemoteFilesConnectsAndResolvesThroughTheRemote()
    {
        using var fs = new RemoteFileSystem();
        var config = fs.Write("srv/config.json", "{\"name\":\"pod\"}");
        fs.Write("srv/b.txt", "b");
        Directory.CreateDirectory(fs.Root + "/etc");
        await File.WriteAllTextAsync(fs.Root + "/etc/resolv.conf", "nameserver 192.0.2.53\noptions timeout:2 attempts:1\n");
        using var server = new Holder<LoopbackHttpServer>();
        using var dns = new Holder<LoopbackUdpService>();
        var destination = new IPEndPoint(IPAddress.Parse("192.0.2.10"), 80);
        var dnsAddress = new IPEndPoint(IPAddress.Parse("192.0.2.53"), 53);
        var policy = fs.Policy(SyscallFamilies.FilesRead | SyscallFamilies.Outgoing | SyscallFamilies.OutgoingUdp) with
        {
            RemotePrefixes = [fs.Prefix, "/etc/resolv.conf"],
            RemoteAddresses = new HashSet<IPAddress> { destination.Address, dnsAddress.Address },
        };
        var script = $$"""
            const fs = require("fs"), net = require("net"), dns = require("dns");
            console.log(JSON.parse(fs.readFileSync("{{config}}", "utf8")).name, fs.readdirSync("{{fs.Prefix}}/srv").sort().join(","));
            dns.lookup("db.svc.cluster.local", { family: 4 }, (err, address) => {
              if (err) { console.log("dns error", err.code); process.exit(2); }
              console.log("dns", address);
              const socket = net.connect(80, "192.0.2.10", () => socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
              let data = "";
              socket.on("data", d => data += d);
              socket.on("end", () => { console.log(socket.remoteAddress, data.split("\r\n\r\n")[1]); });
              socket.on("error", e => { console.log("net error", e.code); process.exit(3); });
            });
            """;

        var result = await Run.IsolatedAsync(Run.Options("node", "-e", script), policy, fs.Remote, setup: () =>
        {
            server.Value = new LoopbackHttpServer("hi node");
            fs.Remote.AddService(destination, server.Value.EndPoint);
            dns.Value = LoopbackUdpService.Dns(new Dictionary<string, IPAddress> { ["db.svc.cluster.local"] = IPAddress.Parse("10.1.2.3") });
            fs.Remote.AddUdpService(dnsAddress, dns.Value.EndPoint);
        });

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("pod b.txt,config.json\ndns 10.1.2.3\n192.0.2.10 hi node\n", result.Stdout);
    }
}
