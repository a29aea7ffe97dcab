using System.Diagnostics;

namespace Doppel.EndToEnd.Tests.Support;

/// <summary>
/// A DNS server of the developer's own, for the tests of names the DNS filter keeps local: dnsmasq
/// on 127.0.0.1:53 in the developer namespace, and /etc/netns/DEV/resolv.conf naming it (what
/// <c>ip netns exec</c> shows doppel as /etc/resolv.conf; the program itself reads the pod's).
/// It knows only the records given; any other name under .test or .local is NXDOMAIN, so a
/// resolver walking the pod's search list moves on. Disposing stops it (by PID) and removes the file.
/// </summary>
internal sealed class DeveloperDns : IAsyncDisposable
{
    private readonly Process _dnsmasq;
    private readonly string _netnsDirectory;

    private DeveloperDns(Process dnsmasq, string netnsDirectory)
    {
        _dnsmasq = dnsmasq;
        _netnsDirectory = netnsDirectory;
    }

    /// <param name="developerNamespace">The developer netns name.</param>
    /// <param name="records">Host name → IPv4 address.</param>
    public static async Task<DeveloperDns> StartAsync(string developerNamespace, IReadOnlyDictionary<string, string> records)
    {
        var directory = $"/etc/netns/{developerNamespace}";
        if (Directory.Exists(directory))
        {
            throw new InvalidOperationException($"{directory} exists already; another test left it, or uses it.");
        }

        Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, "resolv.conf"), "nameserver 127.0.0.1\n");
        var info = new ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        string[] args =
        [
            "netns", "exec", developerNamespace, "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll",
            "--bind-interfaces", "--listen-address=127.0.0.1", "--port=53", "--user=root", "--pid-file=", "--local=/test/", "--local=/local/",
            .. records.Select(r => $"--host-record={r.Key},{r.Value}"),
        ];
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("dnsmasq could not be started.");
        var dns = new DeveloperDns(process, directory);
        try
        {
            await dns.WaitListeningAsync(developerNamespace);
        }
        catch
        {
            await dns.DisposeAsync();
            throw;
        }

        return dns;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_dnsmasq.HasExited)
        {
            _dnsmasq.Kill();
            await _dnsmasq.WaitForExitAsync();
        }

        _dnsmasq.Dispose();
        Directory.Delete(_netnsDirectory, recursive: true);
    }

    private async Task WaitListeningAsync(string developerNamespace)
    {
        for (var i = 0; i < 100; i++)
        {
            if (_dnsmasq.HasExited)
            {
                throw new InvalidOperationException($"dnsmasq exited with {_dnsmasq.ExitCode}: {await _dnsmasq.StandardError.ReadToEndAsync()}");
            }

            var ss = Process.Start(new ProcessStartInfo("ip", ["netns", "exec", developerNamespace, "ss", "-Hlun", "sport = :53"]) { RedirectStandardOutput = true })!;
            var listening = await ss.StandardOutput.ReadToEndAsync();
            await ss.WaitForExitAsync();
            if (listening.Contains("127.0.0.1:53", StringComparison.Ordinal))
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("dnsmasq did not listen on 127.0.0.1:53 in the developer namespace within 10 s.");
    }
}
