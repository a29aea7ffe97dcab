using System.Diagnostics;

namespace Doppel.Agent.Tests.Resolution;

/// <summary>
/// A network namespace of the test's own (<c>ip netns add</c>, loopback up) with its
/// <c>/etc/netns/NAME/</c> files; disposing deletes both.
/// </summary>
internal sealed class ScratchNamespace : IDisposable
{
    private ScratchNamespace(string name) => Name = name;

    public string Name { get; }

    public string EtcDirectory => $"/etc/netns/{Name}";

    public static async Task<ScratchNamespace> CreateAsync(IReadOnlyDictionary<string, string> etcFiles, CancellationToken cancellationToken)
    {
        var scratch = new ScratchNamespace("dagt" + Guid.NewGuid().ToString("N")[..6]);
        await IpAsync(cancellationToken, "netns", "add", scratch.Name);
        try
        {
            await IpAsync(cancellationToken, "-n", scratch.Name, "link", "set", "lo", "up");
            Directory.CreateDirectory(scratch.EtcDirectory);
            foreach (var (name, content) in etcFiles)
            {
                await File.WriteAllTextAsync(Path.Join(scratch.EtcDirectory, name), content, cancellationToken);
            }

            return scratch;
        }
        catch
        {
            scratch.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(EtcDirectory))
        {
            Directory.Delete(EtcDirectory, recursive: true);
        }

        using var ip = Process.Start("ip", ["netns", "delete", Name]);
        ip.WaitForExit();
    }

    private static async Task IpAsync(CancellationToken cancellationToken, params string[] arguments)
    {
        using var ip = Process.Start(new ProcessStartInfo("ip", arguments) { RedirectStandardError = true })!;
        var error = await ip.StandardError.ReadToEndAsync(cancellationToken);
        await ip.WaitForExitAsync(cancellationToken);
        if (ip.ExitCode != 0)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', arguments)} failed: {error}");
        }
    }
}
