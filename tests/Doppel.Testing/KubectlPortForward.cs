using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Doppel.Testing;

/// <summary>
/// <c>kubectl port-forward</c> from 127.0.0.1:LOCAL on this machine to a pod's port (through the
/// API server and kubelet: the path a developer's machine has). Dispose ends the kubectl it
/// started (by its PID).
/// <code>await using var forward = await KubectlPortForward.StartAsync(cluster, ns, pod, 4999, ct); // forward.LocalPort</code>
/// </summary>
public sealed partial class KubectlPortForward : IAsyncDisposable
{
    private readonly Process _process;

    private KubectlPortForward(Process process, int localPort)
    {
        _process = process;
        LocalPort = localPort;
    }

    /// <summary>The port on 127.0.0.1 that leads to the pod's port.</summary>
    public int LocalPort { get; }

    /// <summary>Starts the forward and waits for kubectl's "Forwarding from 127.0.0.1:N" line (30 s at most).</summary>
    public static async Task<KubectlPortForward> StartAsync(KubeCluster cluster, string @namespace, string pod, int port, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(cluster.Kubectl)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "--kubeconfig", cluster.Kubeconfig, "port-forward", "-n", @namespace, "--address", "127.0.0.1", "pod/" + pod, ":" + port.ToString(CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info) ?? throw new KubeClusterException("kubectl port-forward could not be started.");
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        try
        {
            while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                if (ForwardingLine().Match(line) is { Success: true } match)
                {
                    // kubectl writes a line per connection ("Handling connection for N"): keep reading so it never blocks.
                    _ = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null, CancellationToken.None);
                    return new KubectlPortForward(process, int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Reported below with kubectl's stderr.
        }

        Stop(process);
        throw new KubeClusterException($"kubectl port-forward to {@namespace}/{pod}:{port} did not start: {(await stderr).Trim()}");
    }

    public async ValueTask DisposeAsync()
    {
        Stop(_process);
        await _process.WaitForExitAsync(CancellationToken.None);
        _process.Dispose();
    }

    private static void Stop(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: false);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    [GeneratedRegex(@"^Forwarding from 127\.0\.0\.1:(\d+) ->")]
    private static partial Regex ForwardingLine();
}
