using System.Globalization;
using System.Text;

namespace Doppel.Agent.Incoming;

/// <summary>
/// The nft text of the redirect table. One <c>inet</c> table per redirect, named
/// <c>doppel_PID_N</c> (the agent's PID, then a counter within the process):
/// <code>
/// table inet doppel_PID_N {
///   flags owner                        # owner mode: dies with the agent's netlink socket
///   set ports { type inet_service; }   # lease mode: flags timeout, elements "80 timeout 10s"
///   chain prerouting {                 # from outside the netns
///     type nat hook prerouting priority dstnat (-100)
///     tcp dport @ports redirect to :LISTENER
///   }
///   chain output {                     # from inside it: 127.0.0.1, ::1, the pod's own addresses
///     type nat hook output priority -100
///     meta mark AGENT_MARK return      # the agent's own connections to the app
///     fib daddr type local tcp dport @ports redirect to :LISTENER
///   }
/// }
/// </code>
/// Only a connection's first packet meets the nat chains, so an established connection keeps
/// its path when a port is added or removed.
/// </summary>
internal static class RedirectTable
{
    public const string Prefix = "doppel_";

    /// <summary>The table name for the agent process <paramref name="pid"/>.</summary>
    public static string Name(int pid, int sequence) => string.Create(CultureInfo.InvariantCulture, $"{Prefix}{pid}_{sequence}");

    /// <summary>The PID in a doppel table name (<c>doppel_PID</c> or <c>doppel_PID_N</c>), null for other names.</summary>
    public static int? OwnerPid(string tableName)
    {
        if (!tableName.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var rest = tableName.AsSpan(Prefix.Length);
        var end = rest.IndexOf('_');
        var pid = end < 0 ? rest : rest[..end];
        var sequence = end < 0 ? "0" : rest[(end + 1)..];
        return int.TryParse(pid, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0
            && int.TryParse(sequence, NumberStyles.None, CultureInfo.InvariantCulture, out _)
            ? value
            : null;
    }

    /// <summary>The <c>inet</c> table names in the output of <c>list tables inet</c> (lines <c>table inet NAME</c>).</summary>
    public static IEnumerable<string> InetTables(string listOutput)
    {
        foreach (var line in listOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words is ["table", "inet", var name])
            {
                yield return name;
            }
        }
    }

    /// <summary>The command that creates the empty table (with the owner flag in owner mode).</summary>
    public static string CreateTable(string table, RedirectMode mode)
        => mode == RedirectMode.Owner ? $"add table inet {table} {{ flags owner; }}" : $"add table inet {table}";

    /// <summary>The commands that fill the new table: the (empty) port set and the chains (priority -100: dstnat).</summary>
    public static string CreateContents(string table, int listenerPort, uint agentMark, RedirectMode mode)
    {
        var timeout = mode == RedirectMode.Lease ? " flags timeout;" : string.Empty;
        return string.Create(CultureInfo.InvariantCulture, $$"""
            add set inet {{table}} ports { type inet_service;{{timeout}} }
            add chain inet {{table}} prerouting { type nat hook prerouting priority -100; policy accept; }
            add chain inet {{table}} output { type nat hook output priority -100; policy accept; }
            add rule inet {{table}} prerouting tcp dport @ports redirect to :{{listenerPort}}
            add rule inet {{table}} output meta mark 0x{{agentMark:x8}} return
            add rule inet {{table}} output fib daddr type local tcp dport @ports redirect to :{{listenerPort}}

            """);
    }

    /// <summary>Adds a port (owner mode; adding a present one is no error).</summary>
    public static string AddPort(string table, int port) => string.Create(CultureInfo.InvariantCulture, $"add element inet {table} ports {{ {port} }}");

    /// <summary>Removes a port that is present (owner mode).</summary>
    public static string RemovePort(string table, int port) => string.Create(CultureInfo.InvariantCulture, $"delete element inet {table} ports {{ {port} }}");

    /// <summary>
    /// Lease mode: replaces the set's elements by <paramref name="ports"/>, each expiring after
    /// <paramref name="lease"/>, in one transaction (so no port is ever missing in between; an
    /// element that expired already is simply added again).
    /// </summary>
    public static string SetLeasedPorts(string table, IReadOnlyCollection<int> ports, TimeSpan lease)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"flush set inet {table} ports\n");
        if (ports.Count > 0)
        {
            var seconds = Math.Max(1, (int)Math.Ceiling(lease.TotalSeconds));
            text.Append(CultureInfo.InvariantCulture, $"add element inet {table} ports {{ ");
            text.AppendJoin(", ", ports.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p} timeout {seconds}s")));
            text.Append(" }\n");
        }

        return text.ToString();
    }

    /// <summary>Deletes the table.</summary>
    public static string Delete(string table) => $"delete table inet {table}";
}
