using Doppel.Config;

namespace Doppel.Session.Sessions;

/// <summary>What a session is started from: the resolved configuration and the local facts the CLI knows.</summary>
public sealed record SessionOptions
{
    /// <summary>The resolved configuration; its <c>target</c> must be set.</summary>
    public required DoppelConfig Config { get; init; }

    /// <summary>The program as the user named it (<c>node</c>, <c>./app</c>): its executable stays local.</summary>
    public required string Program { get; init; }

    /// <summary>The directory the program runs in (absolute).</summary>
    public required string WorkingDirectory { get; init; }

    /// <summary>The environment doppel itself runs with: the base of the program's.</summary>
    public required IReadOnlyDictionary<string, string> LocalEnvironment { get; init; }

    /// <summary>The variables of <c>feature.env.env_file</c>, read before the agent started (<see cref="Env.SessionEnvironment.ReadEnvFile"/>).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> EnvFile { get; init; } = [];

    /// <summary>
    /// Where a targetless session's traffic leaves from, for its session line (<c>in namespace dev
    /// (agent pod dev/doppel-agent-x1y2z3)</c>: a cluster's targetless agent); null: the local
    /// agent's, which <c>-n</c> names as a network namespace (<c>in network namespace NS</c>).
    /// </summary>
    public string? TargetlessPlace { get; init; }

    /// <summary>doppel's version, sent in the hello (<c>0.1.0</c>).</summary>
    public required string ClientVersion { get; init; }

    /// <summary>Called with each progress line for the person: a port subscribed at the agent (<c>steal :80 → localhost:3000 (filter ^X-Dev-User: alice$)</c>).</summary>
    public Action<string> Info { get; init; } = _ => { };

    /// <summary>Called with each warning for the person (one sentence each): a filter name that resolves to nothing, a DNS filter entry that cannot apply.</summary>
    public Action<string> Warn { get; init; } = _ => { };

    /// <summary>
    /// Called with each error the session meets while the program runs and the person must act on
    /// (one sentence each): a write-back the pod refused (<see cref="Files.FileSync"/>), a port the
    /// agent would not let this session steal, a <c>listen_ports</c> local port that is taken.
    /// </summary>
    public Action<string> ReportError { get; init; } = _ => { };

    /// <summary>
    /// Called with each sentence that takes back an error told through <see cref="ReportError"/>:
    /// today "FILE reached the pod after all." for a write-back that failed and later succeeded.
    /// </summary>
    public Action<string> ReportRecovered { get; init; } = _ => { };

    /// <summary>
    /// Called when the final flush at the program's exit has written files to send, with their
    /// count, before it sends them: the CLI tells the person and lets a Ctrl+C skip it.
    /// </summary>
    public Action<int> FinalFlushStarting { get; init; } = _ => { };
}
