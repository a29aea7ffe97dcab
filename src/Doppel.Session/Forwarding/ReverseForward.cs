namespace Doppel.Session.Forwarding;

/// <summary>
/// One <c>-R [remote_port:]local_port</c> of <c>doppel port-forward</c>: the target's incoming traffic on
/// <see cref="RemotePort"/> (stolen or mirrored, with <c>feature.network.incoming</c>'s mode and HTTP
/// filter) goes to 127.0.0.1:<see cref="LocalPort"/>.
/// </summary>
/// <param name="RemotePort">The target's port (1..65535).</param>
/// <param name="LocalPort">The local port its traffic is delivered to (1..65535).</param>
public sealed record ReverseForward(int RemotePort, int LocalPort)
{
    /// <summary><c>:80 → 127.0.0.1:9000</c>.</summary>
    public override string ToString() => $":{RemotePort} → 127.0.0.1:{LocalPort}";
}
