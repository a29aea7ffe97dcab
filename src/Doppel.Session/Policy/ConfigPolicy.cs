using System.Net;
using System.Text.RegularExpressions;
using Doppel.Config;
using Doppel.Interception.Policy;
using Doppel.Linux.Text;

namespace Doppel.Session.Policy;

/// <summary>
/// The interception policy a configuration asks for: which syscall families to trap, and for each
/// path or destination whether it is local, remote, not found or denied. Everything is computed
/// once from the configuration; the decisions are pure and cheap (the supervisor calls them for
/// every trapped syscall).
/// </summary>
/// <remarks>
/// File rules, first match wins:
/// <code>
///  mode local ─► Local (everything, the lists too)
///  user not_found ─► NotFound        user read_write ─► Remote
///  user read_only ─► Remote (writes: EROFS)           user local ─► Local
///  mode localwithoverrides ─► Local
///  default not_found (~/.aws, ~/.kube, ~/.azure, ~/.config/gcloud) ─► NotFound
///  default remote (/etc/resolv.conf, hosts, hostname, ssl certs) ─► Remote (writes: EROFS)
///  default local (/proc, /usr, *.so, the working directory, the executable, ~/.*,
///                 and the directories above the working directory and the executable) ─► Local
///  mode read ─► Remote (writes: EROFS)      mode write ─► Remote
/// </code>
/// </remarks>
public sealed class ConfigPolicy : IInterceptionPolicy
{
    private const RegexOptions Options = RegexOptions.IgnoreCase | RegexOptions.CultureInvariant;

    private static readonly Regex[] s_defaultLocal = Compile(FsConfig.DefaultLocal);
    private static readonly Regex[] s_defaultRemote = Compile(FsConfig.DefaultRemote);

    private readonly FsConfig _fs;
    private readonly OutgoingConfig _outgoing;
    private readonly DnsConfig _dns;
    private readonly IncomingConfig _incoming;
    private readonly string[] _localRoots;
    private readonly Regex[] _defaultNotFound;
    private readonly bool _targetless;
    private readonly (Regex Pattern, string Replacement)[] _pathMapping;
    private readonly IReadOnlyDictionary<string, IReadOnlySet<IPAddress>> _names;
    private readonly Action<IPEndPoint, int>? _listening;
    private readonly Action<string>? _reportError;
    private readonly Func<IPEndPoint, IPEndPoint?>? _originalClient;
    private readonly Func<IPEndPoint, bool>? _deliversTo;
    private readonly Action<string>? _warn;
    private readonly HashSet<string> _programsNotRun = new(StringComparer.Ordinal);
    private readonly HashSet<string> _processesSkipped = new(StringComparer.Ordinal);

    /// <param name="config">The resolved configuration.</param>
    /// <param name="workingDirectory">The program's working directory: always local.</param>
    /// <param name="executable">The program's absolute path: always local.</param>
    /// <param name="home">The developer's home directory: its dot-files are always local.</param>
    /// <param name="targetless">
    /// No target: there are no pod files, so every path is local except the resolver's
    /// (/etc/resolv.conf, /etc/hosts, served by the agent) while remote DNS is on.
    /// </param>
    /// <param name="names">The addresses of the host names in the outgoing filter (<see cref="FilterNames"/>).</param>
    /// <param name="listening">Told of each TCP listener (<see cref="OnListening"/>): the session's incoming subscriptions. Must not block.</param>
    /// <param name="reportError">Gets the one-sentence error for a <c>listen_ports</c> move whose local port is taken.</param>
    /// <param name="originalClient">The session's delivered connections (<see cref="OriginalClient"/>); null: none.</param>
    /// <param name="deliversTo">The app's listeners the session delivers to (<see cref="DeliversTo"/>); null: none.</param>
    /// <param name="warn">Gets the one-sentence warning for a relative program a pod working directory kept from running (<see cref="OnProgramNotRun"/>), once per path.</param>
    public ConfigPolicy(
        DoppelConfig config,
        string workingDirectory,
        string? executable,
        string? home,
        bool targetless = false,
        IReadOnlyDictionary<string, IReadOnlySet<IPAddress>>? names = null,
        Action<IPEndPoint, int>? listening = null,
        Action<string>? reportError = null,
        Func<IPEndPoint, IPEndPoint?>? originalClient = null,
        Func<IPEndPoint, bool>? deliversTo = null,
        Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        _fs = config.Feature.Fs;
        _outgoing = config.Feature.Network.Outgoing;
        _dns = config.Feature.Network.Dns;
        _incoming = config.Feature.Network.Incoming;
        _localRoots = new[] { workingDirectory, executable }.OfType<string>().Select(p => p.TrimEnd('/')).Where(p => p.Length > 0).ToArray();
        HomeDotFiles = home is { Length: > 0 } ? new Regex("^" + Regex.Escape(home.TrimEnd('/')) + "/\\.", Options) : null;
        _defaultNotFound = home is { Length: > 0 } ? Compile(FsConfig.DefaultNotFound.Select(p => "^" + Regex.Escape(home.TrimEnd('/')) + "/" + p).ToArray()) : [];
        _targetless = targetless;
        _pathMapping = targetless ? [] : _fs.Mapping.Select(m => (new Regex(m.Key, Options), m.Value)).ToArray();
        _names = names ?? new Dictionary<string, IReadOnlySet<IPAddress>>();
        _listening = listening;
        _reportError = reportError;
        _originalClient = originalClient;
        _deliversTo = deliversTo;
        _warn = warn;
        Families = FamiliesOf(config, targetless);
        SkippedProcesses = config.SkipProcesses.Concat(config.SkipBuildTools ? DoppelConfig.BuildTools : []).ToHashSet(StringComparer.Ordinal);
    }

    public SyscallFamilies Families { get; }

    public IReadOnlySet<string> SkippedProcesses { get; }

    private Regex? HomeDotFiles { get; }

    /// <summary>
    /// The host names of the outgoing and DNS filters, each with the side that resolves it: as
    /// mirrord's outgoing filter does, a <c>local</c> list's names by the developer's resolver, a
    /// <c>remote</c> list's by the target's. The outgoing filter's names are matched against the
    /// addresses they resolve to; the DNS filter's are matched by name (<see cref="DnsSteering"/>)
    /// and are resolved only to warn about a name that resolves to nothing. Wildcards are left out.
    /// </summary>
    public static IReadOnlyList<FilterName> FilterNames(DoppelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var network = config.Feature.Network;
        var filters = new List<(string Key, OutgoingFilterConfig? Filter)> { ("feature.network.outgoing.filter", network.Outgoing.Filter) };
        if (network.Dns.Enabled)
        {
            filters.Add(("feature.network.dns.filter", network.Dns.Filter));
        }

        return filters
            .Where(f => f.Filter is not null)
            .SelectMany(f => f.Filter!.Parsed
                .Where(e => e.Name is { } n && !n.StartsWith("*.", StringComparison.Ordinal))
                .Select(e => new FilterName(f.Key, e.Text, e.Name!, f.Filter.Remote is null)))
            .ToArray();
    }

    /// <summary>
    /// <c>feature.fs.mapping</c>: the first pattern that matches rewrites the path (capture groups
    /// allowed, <c>$1</c>); a result that is not absolute keeps the path as it was.
    /// </summary>
    public string MapPath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        foreach (var (pattern, replacement) in _pathMapping)
        {
            if (pattern.IsMatch(path))
            {
                var mapped = pattern.Replace(path, replacement, 1);
                return mapped.StartsWith('/') ? mapped : path;
            }
        }

        return path;
    }

    public InterceptionDecision DecideFile(string path, FileIntent intent)
    {
        ArgumentNullException.ThrowIfNull(path);

        // mode local is mirrord's "everything local" switch: even the override lists are ignored.
        if (_fs.Mode == FsMode.Local)
        {
            return InterceptionDecision.Local;
        }

        if (_targetless)
        {
            return _dns.Enabled && path is "/etc/resolv.conf" or "/etc/hosts" ? ReadOnlyRemote(intent) : InterceptionDecision.Local;
        }

        var rules = _fs.Rules;
        if (Matches(rules.NotFound, path))
        {
            return InterceptionDecision.NotFound;
        }

        if (Matches(rules.ReadWrite, path))
        {
            return InterceptionDecision.Remote;
        }

        if (Matches(rules.ReadOnly, path))
        {
            return ReadOnlyRemote(intent);
        }

        if (Matches(rules.Local, path) || _fs.Mode == FsMode.LocalWithOverrides)
        {
            return InterceptionDecision.Local;
        }

        if (Matches(_defaultNotFound, path))
        {
            return InterceptionDecision.NotFound;
        }

        if (Matches(s_defaultRemote, path))
        {
            return ReadOnlyRemote(intent);
        }

        if (Matches(s_defaultLocal, path) || IsUnderLocalRoot(path) || IsAboveLocalRoot(path) || (HomeDotFiles?.IsMatch(path) ?? false))
        {
            return InterceptionDecision.Local;
        }

        return _fs.Mode == FsMode.Write ? InterceptionDecision.Remote : ReadOnlyRemote(intent);
    }

    public InterceptionDecision DecideOutgoing(Transport transport, IPEndPoint destination)
    {
        ArgumentNullException.ThrowIfNull(destination);

        // DNS follows feature.network.dns, whatever outgoing UDP says. The DNS filter (with the
        // outgoing filter's names, DnsSteering) goes by the name each query asks, so every query
        // goes to the relay, which sends it to the target's nameserver or to the developer's.
        if (destination.Port == 53)
        {
            return _dns.Enabled ? InterceptionDecision.Remote : InterceptionDecision.Local;
        }

        var enabled = transport == Transport.Tcp ? _outgoing.Tcp : _outgoing.Udp;
        if (!enabled || (_outgoing.IgnoreLocalhost && IPAddress.IsLoopback(destination.Address)))
        {
            return InterceptionDecision.Local;
        }

        return _outgoing.Filter is { } filter ? FilterDecision(filter, transport, destination) : InterceptionDecision.Remote;
    }

    /// <summary><c>listen_ports</c> [[remote, local]]: an app that binds the remote port binds the local one.</summary>
    public int MapBindPort(Transport transport, IPEndPoint requested)
    {
        ArgumentNullException.ThrowIfNull(requested);
        foreach (var pair in _incoming.ListenPorts)
        {
            if (pair.First == requested.Port)
            {
                return pair.Second;
            }
        }

        return requested.Port;
    }

    /// <summary>Passed to the session's incoming subscriptions (<c>Incoming.IncomingPort.Decide</c> picks what to subscribe).</summary>
    public void OnListening(IPEndPoint local, int requestedPort)
    {
        ArgumentNullException.ThrowIfNull(local);
        _listening?.Invoke(local, requestedPort);
    }

    /// <summary>The session's whole TCP deliveries: the original client behind the relay's socket.</summary>
    public IPEndPoint? OriginalClient(IPEndPoint peer) => _originalClient?.Invoke(peer);

    /// <summary>The app's listeners the session's incoming subscriptions deliver to: their accepts name the original client.</summary>
    public bool DeliversTo(IPEndPoint listener) => _deliversTo?.Invoke(listener) ?? false;

    /// <summary>A <c>listen_ports</c> move to a local port that is taken: one error line; the app gets the errno.</summary>
    public void OnBindMoveFailed(Transport transport, IPEndPoint requested, int port, int errno)
    {
        ArgumentNullException.ThrowIfNull(requested);
        _reportError?.Invoke(BindMoveFailure(transport, requested.Port, port, errno));
    }

    /// <summary>An exec a pod working directory kept from running (ENOENT): one warning line per path for the session.</summary>
    public void OnProgramNotRun(string program, string path, bool inPod)
    {
        ArgumentNullException.ThrowIfNull(path);
        lock (_programsNotRun)
        {
            if (!_programsNotRun.Add(path))
            {
                return;
            }
        }

        _warn?.Invoke(ProgramNotRun(program, path, inPod));
    }

    /// <summary>A process <c>skip_build_tools</c> or <c>skip_processes</c> leaves alone made a trapped call: one warning line per program name for the session.</summary>
    public void OnProcessSkipped(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        lock (_programsNotRun)
        {
            if (!_processesSkipped.Add(name))
            {
                return;
            }
        }

        _warn?.Invoke(ProcessSkipped(name));
    }

    /// <summary>The sentence for <see cref="OnProcessSkipped"/>.</summary>
    public static string ProcessSkipped(string name) =>
        $"'{Printable.Escape(name)}' runs as if doppel were not there (skip_build_tools or skip_processes): its files, connections and DNS are this machine's, so what it writes to a pod path stays here; set skip_build_tools to false (or take it out of skip_processes) to run it in the pod's view.";

    /// <summary>The sentence for <see cref="OnProgramNotRun"/>.</summary>
    public static string ProgramNotRun(string program, string path, bool inPod) =>
        inPod
            ? $"'{Printable.Escape(program)}' was not run (No such file or directory): it is the pod's {Printable.Escape(path)}, and doppel runs programs from this machine only, where a relative path from a pod directory would name another file; run a script with its interpreter (sh {Printable.Escape(program)} reads it from the pod), copy a program here and run it by its absolute path, or run it in the pod."
            : $"'{Printable.Escape(program)}' was not run (No such file or directory): it is {Printable.Escape(path)} on this machine, reached from a pod working directory, which the kernel would resolve against another directory; run it by its absolute path {Printable.Escape(path)}.";

    /// <summary>The sentence for <see cref="OnBindMoveFailed"/>.</summary>
    public static string BindMoveFailure(Transport transport, int requestedPort, int port, int errno) =>
        $"feature.network.incoming.listen_ports moves the app's {(transport == Transport.Tcp ? "TCP" : "UDP")} port {requestedPort} to local port {port}, " +
        (errno == 98
            ? $"which another program on this machine already uses, so the app's bind failed (EADDRINUSE): free port {port} or map {requestedPort} to a free port."
            : $"and that bind failed (errno {errno}), so the app's bind failed too.");

    private static SyscallFamilies FamiliesOf(DoppelConfig config, bool targetless)
    {
        var feature = config.Feature;
        var families = SyscallFamilies.None;
        if (targetless)
        {
            families |= feature.Network.Dns.Enabled ? SyscallFamilies.FilesRead : SyscallFamilies.None;
        }
        else if (feature.Fs.Mode != FsMode.Local)
        {
            // Name changes are trapped in every mode that serves pod files: in read mode a mkdir,
            // unlink or rename of a pod path must fail with EROFS, not act on the developer's disk.
            families |= SyscallFamilies.FilesRead | SyscallFamilies.FilesWrite;
            families |= feature.Fs.Mode == FsMode.Write ? SyscallFamilies.FilesWriteThrough : SyscallFamilies.None;

            // Locks on pod files are taken in the pod, in read mode too (a reader's shared lock
            // keeps a pod writer out, as SQLite's readers do).
            families |= SyscallFamilies.FileLocks;
        }

        var network = feature.Network;
        if (network.Outgoing.Tcp || network.Outgoing.Udp || network.Dns.Enabled)
        {
            families |= SyscallFamilies.Outgoing; // connect, also of the resolvers' UDP sockets
        }

        if (network.Outgoing.Udp || network.Dns.Enabled)
        {
            families |= SyscallFamilies.OutgoingUdp;
        }

        if (network.Incoming.Mode != IncomingMode.Off || network.Incoming.ListenPorts.Count > 0)
        {
            families |= SyscallFamilies.Listen;
        }

        // Incoming delivery needs a target (DoppelSession): only then can an accepted socket carry another client.
        if (network.Incoming.Mode != IncomingMode.Off && !targetless)
        {
            families |= SyscallFamilies.Accept;
        }

        if (feature.Hostname)
        {
            families |= SyscallFamilies.Hostname;
        }

        return families;
    }

    private static InterceptionDecision ReadOnlyRemote(FileIntent intent) =>
        intent == FileIntent.Write ? InterceptionDecision.ReadOnly : InterceptionDecision.Remote;

    private InterceptionDecision FilterDecision(OutgoingFilterConfig filter, Transport transport, IPEndPoint destination)
    {
        var matched = filter.Parsed.Any(f => AddressFilterMatch.Matches(f, transport, destination, _names));
        var remoteList = filter.Remote is not null;
        return matched == remoteList ? InterceptionDecision.Remote : InterceptionDecision.Local;
    }

    private bool IsUnderLocalRoot(string path) =>
        _localRoots.Any(root => path == root || (path.StartsWith(root, StringComparison.Ordinal) && path.Length > root.Length && path[root.Length] == '/'));

    /// <summary>
    /// A directory on the way to a local root (<c>/work</c> and <c>/work/app</c> for the working
    /// directory <c>/work/app/src</c>), but not <c>/</c>: a shell's <c>cd "$PWD"</c> (bash, the
    /// pyenv shims) and realpath stat every one of them, and the pod rarely has them. Only the
    /// directories themselves: the pod's other files below them stay the pod's.
    /// </summary>
    private bool IsAboveLocalRoot(string path) =>
        path.Length > 1 && !path.EndsWith('/') &&
        _localRoots.Any(root => root.Length > path.Length && root.StartsWith(path, StringComparison.Ordinal) && root[path.Length] == '/');

    private static bool Matches(IReadOnlyList<Regex> patterns, string path)
    {
        foreach (var pattern in patterns)
        {
            if (pattern.IsMatch(path))
            {
                return true;
            }
        }

        return false;
    }

    private static Regex[] Compile(IReadOnlyList<string> patterns) => patterns.Select(p => new Regex(p, Options)).ToArray();
}
