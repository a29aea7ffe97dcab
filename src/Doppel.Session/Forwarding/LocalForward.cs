using System.Net;

namespace Doppel.Session.Forwarding;

/// <summary>
/// One <c>-L [local_port:]remote_host:remote_port</c> of <c>doppel port-forward</c>: connections to
/// 127.0.0.1:<see cref="LocalPort"/> are made to <see cref="RemoteHost"/>:<see cref="RemotePort"/> from the pod.
/// </summary>
/// <param name="LocalPort">The local listener's port on 127.0.0.1 (1..65535).</param>
/// <param name="RemoteHost">An IP address, or a name the pod's resolver looks up for every connection (cluster DNS, search domains).</param>
/// <param name="RemotePort">The destination port (1..65535).</param>
public sealed record LocalForward(int LocalPort, string RemoteHost, int RemotePort)
{
    /// <summary><see cref="RemoteHost"/> as an address when it is one; null for a name.</summary>
    /// <remarks>Dotted-quad IPv4 (as mirrord takes it) or IPv6; <c>10.1</c> and other short forms are names.</remarks>
    public IPAddress? RemoteAddress =>
        IPAddress.TryParse(RemoteHost, out var address)
        && (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 || RemoteHost.Count(c => c == '.') == 3)
            ? address
            : null;

    /// <summary><c>postgres:5432</c>, <c>[fd00::1]:80</c>.</summary>
    public string Remote => RemoteHost.Contains(':', StringComparison.Ordinal) ? $"[{RemoteHost}]:{RemotePort}" : $"{RemoteHost}:{RemotePort}";

    /// <summary><c>127.0.0.1:8080 → postgres:5432</c>.</summary>
    public override string ToString() => $"127.0.0.1:{LocalPort} → {Remote}";
}
