using Microsoft.Extensions.Logging;

namespace Doppel.Session.Incoming;

/// <summary>
/// What a session says when its agents' incoming subscriptions are lost and when they are back:
/// one warning for the outage and one line once every agent that lost them has them again
/// (issue 12 item 5, "the user sees one line saying so"), however many replicas' agents — all
/// of them at once when the API server restarts, since every port-forward goes through it.
/// <code>
///   agent A lost ──► warning (the first loss of this outage)      lost = {A}
///   agent B lost ──► logged only                                   lost = {A, B}
///   agent A back ──► logged only                                   lost = {B}
///   agent B back ──► info "subscribed again … (at 2 replicas)"     lost = {}   next loss: a new outage
///   agent B removed while lost (its pod went) ──► forgotten; with none left lost the outage ends unsaid
/// </code>
/// Thread-safe: each agent's <see cref="IncomingTraffic"/> reports from its own tasks.
/// </summary>
/// <param name="warn">The person's warning line (the outage).</param>
/// <param name="info">The person's progress line (the end of the outage).</param>
/// <param name="logger">Where the lines not shown go.</param>
internal sealed class IncomingOutage(Action<string> warn, Action<string> info, ILogger logger)
{
    private readonly Lock _lock = new();
    private readonly HashSet<string> _lost = new(StringComparer.Ordinal);
    private bool _said;
    private int _most; // the most agents lost at once in this outage

    /// <summary>The reports of one agent's subscriptions, its lines prefixed with <paramref name="prefix"/> (a replica's name; empty for the session's own agent).</summary>
    public Agent For(string key, string prefix) => new(this, key, prefix);

    /// <summary>Forgets the agent <paramref name="key"/> (removed: its pod is gone); the outage ends, unsaid, when it was the last one lost.</summary>
    public void Forget(string key)
    {
        lock (_lock)
        {
            if (_lost.Remove(key) && _lost.Count == 0)
            {
                _said = false;
                _most = 0;
            }
        }
    }

    private void Lost(string key, string line)
    {
        bool say;
        lock (_lock)
        {
            _lost.Add(key);
            say = !_said;
            _said = true;
            _most = Math.Max(_most, _lost.Count);
        }

        if (say)
        {
            warn(line);
        }
        else
        {
            IncomingLog.OutageLine(logger, line);
        }
    }

    private void Back(string key, string prefix, string line)
    {
        bool say;
        lock (_lock)
        {
            if (!_lost.Remove(key))
            {
                return;
            }

            say = _said && _lost.Count == 0;
            if (say)
            {
                _said = false;

                // Several agents came back: the line is the session's, not the last one's.
                line = _most > 1 ? $"{line} (at {_most} replicas)" : prefix + line;
                _most = 0;
            }
            else
            {
                line = prefix + line;
            }
        }

        if (say)
        {
            info(line);
        }
        else
        {
            IncomingLog.OutageLine(logger, line);
        }
    }

    /// <summary>One agent's side of the outage.</summary>
    internal sealed class Agent(IncomingOutage outage, string key, string prefix)
    {
        /// <summary>A session with no replicas to coordinate with: every loss and return said.</summary>
        public static Agent Alone(Action<string> warn, Action<string> info, ILogger logger) => new IncomingOutage(warn, info, logger).For("", "");

        /// <summary>This agent's subscriptions were lost (the agent ended or the connection to it broke).</summary>
        public void Lost(string line) => outage.Lost(key, prefix + line);

        /// <summary>This agent has every port subscribed again.</summary>
        public void Back(string line) => outage.Back(key, prefix, line);
    }
}
