using System.Net.Sockets;
using Doppel.Agent.Logging;
using Doppel.Agent.Targets;
using Doppel.Linux.Namespaces;
using Doppel.Linux.Nftables;
using Doppel.Linux.Sockets;
using Microsoft.Extensions.Logging;

namespace Doppel.Agent.Incoming;

/// <summary>
/// Redirects new TCP connections to the subscribed ports of a target's network namespace to the
/// agent's listener there, IPv4 and IPv6, from outside the namespace and from inside it (loopback
/// and the pod's own addresses). The table is described in <see cref="RedirectTable"/>.
/// <code>
///   client ──► pod:80 ──nat prerouting/output──► pod:LISTENER (agent) ──marked socket──► pod:80 (app)
/// </code>
/// It cannot outlive the agent: the libnftables context that made it stays open on one thread
/// that joined the target's namespace (every later command runs on that context), and
/// <list type="bullet">
/// <item><see cref="RedirectMode.Owner"/>: the table has <c>flags owner</c>, so the kernel deletes
/// it when that netlink socket closes — on <see cref="Dispose"/>, on any death of the agent,
/// SIGKILL included;</item>
/// <item><see cref="RedirectMode.Lease"/> (kernels &lt; 5.12, or forced by
/// <see cref="RedirectOptions.ForceLease"/>): each port expires after the lease unless renewed
/// (every third of it), so a dead agent's ports go back to the app within the lease; the empty
/// table stays until the next agent removes it.</item>
/// </list>
/// On creation, doppel tables of agents whose PID no longer lives are deleted.
/// Connections the agent itself makes to the app must carry <see cref="AgentSocketMark"/>
/// (<see cref="MarkAsAgentConnection"/>) or they would be redirected back to the agent.
/// </summary>
internal sealed class IncomingRedirect : IDisposable
{
    /// <summary>
    /// The SO_MARK of the agent's own connections into the target's namespace (0x646f7070,
    /// "dopp" in ASCII): the output chain lets them through unredirected. Compared as a whole
    /// value; chosen away from the marks of kube-proxy (0x4000/0x8000) and Istio (0x539).
    /// </summary>
    public const uint AgentSocketMark = 0x646f7070;

    private static int s_sequence;

    private readonly Lock _lock = new();
    private readonly NetworkNamespaceThread _thread;
    private readonly NftContext _nft;
    private readonly RedirectOptions _options;
    private readonly ILogger _logger;
    private readonly SortedSet<int> _ports = [];
    private readonly Timer? _renewal;
    private bool _closed;

    private IncomingRedirect(NetworkNamespaceThread thread, NftContext nft, string table, int listenerPort, RedirectMode mode, RedirectOptions options, ILogger logger)
    {
        _thread = thread;
        _nft = nft;
        TableName = table;
        ListenerPort = listenerPort;
        Mode = mode;
        _options = options;
        _logger = logger;
        if (mode == RedirectMode.Lease)
        {
            var period = options.Lease / 3;
            _renewal = new Timer(_ => _ = RenewAsync(), null, period, period);
        }
    }

    /// <summary>The nft table's name (<c>doppel_PID_N</c>, family inet).</summary>
    public string TableName { get; }

    /// <summary>The agent's listener port in the target's namespace that connections are redirected to.</summary>
    public int ListenerPort { get; }

    public RedirectMode Mode { get; }

    /// <summary>The ports redirected now, ascending.</summary>
    public IReadOnlyList<int> Ports
    {
        get
        {
            lock (_lock)
            {
                return [.. _ports];
            }
        }
    }

    /// <summary>
    /// Creates the (empty) redirect table in the target's namespace, removing stale doppel tables
    /// of dead agents first. Throws <see cref="TargetException"/> when the namespace cannot be
    /// joined, <see cref="NftablesException"/> when nftables refuses (no CAP_NET_ADMIN, no
    /// libnftables1, no nat support); <see cref="ArgumentOutOfRangeException"/> for a port outside
    /// 1–65535 or a lease under 1 s.
    /// </summary>
    public static async Task<IncomingRedirect> CreateAsync(Target target, int listenerPort, RedirectOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(listenerPort, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(listenerPort, 65535);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Lease, TimeSpan.FromSeconds(1));
        cancellationToken.ThrowIfCancellationRequested();
        NetworkNamespaceThread thread;
        try
        {
            thread = NetworkNamespaceThread.Start(target.NetworkNamespacePath, "nft-redirect");
        }
        catch (IOException e)
        {
            throw new TargetException($"{e.Message} Check that the target is running and that the agent has CAP_SYS_ADMIN.");
        }

        var table = RedirectTable.Name(Environment.ProcessId, Interlocked.Increment(ref s_sequence));
        try
        {
            var (nft, mode) = await thread.RunAsync(() => Open(table, listenerPort, options, logger)).ConfigureAwait(false);
            AgentLog.RedirectCreated(logger, table, listenerPort, mode);
            return new IncomingRedirect(thread, nft, table, listenerPort, mode, options, logger);
        }
        catch
        {
            thread.Dispose();
            throw;
        }
    }

    /// <summary>Marks a socket the agent creates in the target's namespace so that the redirect lets its connection reach the app.</summary>
    public static void MarkAsAgentConnection(Socket socket) => SocketMark.Set(socket, AgentSocketMark);

    /// <summary>Redirects new connections to <paramref name="port"/>; adding a redirected port again changes nothing.</summary>
    public Task AddPortAsync(int port, CancellationToken cancellationToken) => ChangeAsync(port, add: true, flushEstablished: false, cancellationToken);

    /// <summary>
    /// Redirects new connections to <paramref name="port"/> and, when <paramref name="flushEstablished"/>
    /// and the port was not redirected yet, ends the connections to it that were established before
    /// (mirrord's <c>flush_connections</c>: keep-alive clients reconnect, through the redirect):
    /// <code>
    ///   sock_diag: established sockets with local port = port   (all made before the redirect)
    ///   nft: add the port
    ///   SOCK_DESTROY each of them, by id and cookie   (the app sees ECONNABORTED, the client a reset)
    /// </code>
    /// Only sockets listed before the rule exists are destroyed, so a connection the rule redirects
    /// never is, nor the app's side of the agent's own connections (peer marked
    /// <see cref="AgentSocketMark"/>); one established in the instant between the list and the rule
    /// is missed and keeps its direct path. Returns how many were ended.
    /// </summary>
    public Task<int> AddPortAsync(int port, bool flushEstablished, CancellationToken cancellationToken) => ChangeAsync(port, add: true, flushEstablished, cancellationToken);

    /// <summary>New connections to <paramref name="port"/> reach the app again (established ones keep their path); removing an absent port changes nothing.</summary>
    public Task RemovePortAsync(int port, CancellationToken cancellationToken) => ChangeAsync(port, add: false, flushEstablished: false, cancellationToken);

    /// <summary>Deletes the table and closes the nftables context.</summary>
    public void Dispose() => Close(deleteTable: true);

    /// <summary>Tests: stops renewing the lease, as a hung agent would.</summary>
    internal void StopRenewing() => _renewal?.Dispose();

    /// <summary>Tests: closes the nftables context without deleting the table, as the agent's death does.</summary>
    internal void CloseWithoutDeleting() => Close(deleteTable: false);

    private static (NftContext Nft, RedirectMode Mode) Open(string table, int listenerPort, RedirectOptions options, ILogger logger)
    {
        var nft = NftContext.Create();
        try
        {
            RemoveStaleTables(nft, logger);
            var mode = RedirectMode.Lease;
            if (!options.ForceLease)
            {
                try
                {
                    nft.Run(RedirectTable.CreateTable(table, RedirectMode.Owner));
                    mode = RedirectMode.Owner;
                }
                catch (NftablesException e)
                {
                    // Kernels before 5.12 know no owner flag. Anything else fails again just below.
                    AgentLog.OwnerTableRefused(logger, e.Message);
                }
            }

            if (mode == RedirectMode.Lease)
            {
                nft.Run(RedirectTable.CreateTable(table, RedirectMode.Lease));
            }

            try
            {
                nft.Run(RedirectTable.CreateContents(table, listenerPort, AgentSocketMark, mode));
            }
            catch (NftablesException)
            {
                nft.Run(RedirectTable.Delete(table));
                throw;
            }

            return (nft, mode);
        }
        catch
        {
            nft.Dispose();
            throw;
        }
    }

    private static void RemoveStaleTables(NftContext nft, ILogger logger)
    {
        foreach (var name in RedirectTable.InetTables(nft.Run("list tables inet")))
        {
            if (RedirectTable.OwnerPid(name) is { } pid && pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}"))
            {
                try
                {
                    nft.Run(RedirectTable.Delete(name));
                    AgentLog.StaleTableRemoved(logger, name);
                }
                catch (NftablesException e)
                {
                    AgentLog.StaleTableKept(logger, name, e.Message);
                }
            }
        }
    }

    private async Task<int> ChangeAsync(int port, bool add, bool flushEstablished, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        cancellationToken.ThrowIfCancellationRequested();
        return await _thread.RunAsync(() =>
        {
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_closed, this);
                if (add == _ports.Contains(port))
                {
                    return 0;
                }

                var before = add && flushEstablished ? EstablishedTo(port) : null;
                var ports = new SortedSet<int>(_ports);
                _ = add ? ports.Add(port) : ports.Remove(port);
                _nft.Run(Mode == RedirectMode.Lease
                    ? RedirectTable.SetLeasedPorts(TableName, ports, _options.Lease)
                    : add ? RedirectTable.AddPort(TableName, port) : RedirectTable.RemovePort(TableName, port));
                _ = add ? _ports.Add(port) : _ports.Remove(port);
                return before is null ? 0 : Flush(port, before);
            }
        }).ConfigureAwait(false);
    }

    /// <summary>The namespace's established TCP sockets on the server side of <paramref name="port"/> (runs on the namespace thread); null when they cannot be listed.</summary>
    private List<TcpSocketEntry>? EstablishedTo(int port)
    {
        try
        {
            // The app's side of the agent's own connections (a port redirected before, removed, added
            // again) is a redirected flow too: its peer is a socket with the agent's mark.
            var sockets = SockDiag.List(1u << SockDiag.Established);
            var agents = sockets.Where(s => s.Mark == AgentSocketMark).Select(s => s.Local).ToHashSet();
            return sockets.Where(s => s.Local.Port == port && !agents.Contains(s.Remote)).ToList();
        }
        catch (IOException e)
        {
            AgentLog.FlushFailed(_logger, port, e.Message);
            return null;
        }
    }

    private int Flush(int port, List<TcpSocketEntry> sockets)
    {
        var flushed = 0;
        foreach (var socket in sockets)
        {
            // ENOENT: it ended by itself meanwhile.
            var result = SockDiag.Destroy(socket);
            flushed += result == 0 ? 1 : 0;
        }

        AgentLog.ConnectionsFlushed(_logger, port, flushed, sockets.Count - flushed);
        return flushed;
    }

    private async Task RenewAsync()
    {
        try
        {
            await _thread.RunAsync(() =>
            {
                lock (_lock)
                {
                    if (!_closed && _ports.Count > 0)
                    {
                        _nft.Run(RedirectTable.SetLeasedPorts(TableName, _ports, _options.Lease));
                    }

                    return 0;
                }
            }).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NftablesException or ObjectDisposedException)
        {
            AgentLog.LeaseRenewalFailed(_logger, TableName, e.Message);
        }
    }

    private void Close(bool deleteTable)
    {
        lock (_lock)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
        }

        _renewal?.Dispose();
        try
        {
            _thread.RunAsync(() =>
            {
                try
                {
                    if (deleteTable)
                    {
                        _nft.Run(RedirectTable.Delete(TableName));
                    }
                }
                finally
                {
                    _nft.Dispose();
                }

                return 0;
            }).GetAwaiter().GetResult();
        }
        catch (NftablesException e)
        {
            AgentLog.TableDeleteFailed(_logger, TableName, e.Message);
        }
        finally
        {
            _thread.Dispose();
        }
    }
}
