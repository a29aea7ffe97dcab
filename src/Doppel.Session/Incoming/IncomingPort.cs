using System.Net;
using Doppel.Config;
using Doppel.Protocol.V1;

namespace Doppel.Session.Incoming;

/// <summary>
/// One listener of the app the session subscribes at the agent: the target's port, where the
/// agent's work is delivered locally, and how.
/// </summary>
/// <param name="TargetPort">The target's port the subscription takes (1..65535), after <c>port_mapping</c>.</param>
/// <param name="App">Where the app really listens (after a <c>listen_ports</c> move): requests are replayed there.</param>
/// <param name="Mode">Steal or mirror.</param>
/// <param name="Filter">The HTTP filter, or null when the port is taken whole.</param>
internal sealed record IncomingPort(int TargetPort, IPEndPoint App, SubscriptionMode Mode, HttpFilter? Filter)
{
    /// <summary>
    /// What the session subscribes when the app starts listening on <paramref name="local"/>
    /// having asked for <paramref name="requestedPort"/>; null when the configuration leaves the
    /// listener alone. Rules, in order (mirrord's meanings, /work/shared/REFERENCE.md):
    /// <code>
    ///   mode off ─► none
    ///   ignore_localhost and a loopback-only listener ─► none
    ///   the requested port in ignore_ports, or not in ports (when set) ─► none
    ///   target port = port_mapping [[local, remote]] of the requested port, else the requested port
    ///   filter = http_filter when it sets one and (http_filter.ports is absent or lists the target port), else none (whole port)
    /// </code>
    /// The requested port is the one the app asked for: a <c>listen_ports</c> [[remote, local]]
    /// move binds the local port, and the remote one is what the pod's clients connect to.
    /// </summary>
    public static IncomingPort? Decide(IncomingConfig config, IPEndPoint local, int requestedPort)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(local);
        if (config.Mode == IncomingMode.Off)
        {
            return null;
        }

        if (config.IgnoreLocalhost && IPAddress.IsLoopback(local.Address))
        {
            return null;
        }

        if (config.IgnorePorts.Contains(requestedPort) || (config.Ports is { } only && !only.Contains(requestedPort)))
        {
            return null;
        }

        var target = requestedPort;
        foreach (var pair in config.PortMapping)
        {
            if (pair.First == requestedPort)
            {
                target = pair.Second;
                break;
            }
        }

        var filter = HttpFilterProto.FromConfig(config.HttpFilter);
        if (config.HttpFilter.Ports is { } filtered && !filtered.Contains(target))
        {
            filter = null;
        }

        var mode = config.Mode == IncomingMode.Steal ? SubscriptionMode.Steal : SubscriptionMode.Mirror;
        return new IncomingPort(target, Reachable(local), mode, filter);
    }

    /// <summary>
    /// <c>doppel port-forward -R</c>'s subscription of <paramref name="targetPort"/>, delivered to
    /// <paramref name="app"/>: steal when <c>mode</c> is steal, else mirror (off too: the flag asks for
    /// traffic), with <c>http_filter</c> unless <c>http_filter.ports</c> leaves the port out, as mirrord's
    /// reverse port-forward decides; the listener rules (ports, ignore_ports, port_mapping) do not apply.
    /// </summary>
    public static IncomingPort Reverse(IncomingConfig config, int targetPort, IPEndPoint app)
    {
        ArgumentNullException.ThrowIfNull(config);
        var filter = HttpFilterProto.FromConfig(config.HttpFilter);
        if (config.HttpFilter.Ports is { } filtered && !filtered.Contains(targetPort))
        {
            filter = null;
        }

        return new IncomingPort(targetPort, app, config.Mode == IncomingMode.Steal ? SubscriptionMode.Steal : SubscriptionMode.Mirror, filter);
    }

    /// <summary>The address to deliver to: a wildcard listener is reached over loopback of its family.</summary>
    public static IPEndPoint Reachable(IPEndPoint local)
    {
        ArgumentNullException.ThrowIfNull(local);
        if (local.Address.Equals(IPAddress.Any))
        {
            return new IPEndPoint(IPAddress.Loopback, local.Port);
        }

        if (local.Address.Equals(IPAddress.IPv6Any))
        {
            return new IPEndPoint(IPAddress.IPv6Loopback, local.Port);
        }

        return local;
    }

    /// <summary>
    /// The progress line: <c>steal :80 → localhost:3000 (filter ^X-Dev-User: alice$)</c>,
    /// <c>mirror :8080 → 127.0.0.1:8080</c>.
    /// </summary>
    public string Describe()
    {
        var mode = Mode == SubscriptionMode.Steal ? "steal" : "mirror";
        var app = IPAddress.IsLoopback(App.Address) ? $"localhost:{App.Port}" : App.ToString();
        var filter = Filter is null ? string.Empty : $" (filter {HttpFilterProto.Describe(Filter)})";
        return $"{mode} :{TargetPort} → {app}{filter}";
    }
}
