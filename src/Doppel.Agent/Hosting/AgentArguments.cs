using System.Globalization;
using Doppel.Agent.Logging;
using Doppel.Agent.Targets;

namespace Doppel.Agent.Hosting;

/// <summary>
/// <c>doppel-agent --target pid/N | container/ID | targetless [--netns NAME|PATH] [--listen unix:PATH | --listen 127.0.0.1:PORT] [--idle-exit SECONDS] [--first-connection-timeout SECONDS] [--log-level LEVEL] [--http-probe-ports P,Q]</c>
/// </summary>
internal static class AgentArguments
{
    public const string Usage =
        "usage: doppel-agent --target pid/N | container/ID | targetless [--netns NAME|PATH] [--listen unix:PATH | --listen 127.0.0.1:PORT] [--idle-exit SECONDS] [--first-connection-timeout SECONDS] [--log-level trace|debug|info|warn|error|off] [--http-probe-ports P,Q]";

    public static AgentOptions Parse(IReadOnlyList<string> args)
    {
        string? target = null;
        string? netns = null;
        var listen = "127.0.0.1:0";
        var idle = TimeSpan.FromSeconds(5);
        TimeSpan? first = null;
        var logLevel = Microsoft.Extensions.Logging.LogLevel.Information;
        IReadOnlySet<int> probePorts = new HashSet<int>();
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            if (name is not ("--target" or "--netns" or "--listen" or "--idle-exit" or "--first-connection-timeout" or "--log-level" or "--http-probe-ports"))
            {
                throw new TargetException($"The argument '{name}' is not understood; {Usage}");
            }

            if (i + 1 >= args.Count)
            {
                throw new TargetException($"The option {name} needs a value; {Usage}");
            }

            var value = args[++i];
            switch (name)
            {
                case "--target":
                    target = value;
                    break;
                case "--netns":
                    netns = value;
                    break;
                case "--listen":
                    if (!value.StartsWith("unix:/", StringComparison.Ordinal) && !IsLoopbackTcp(value))
                    {
                        throw new TargetException($"The listen address '{value}' is not supported; use unix:/absolute/path or 127.0.0.1:PORT.");
                    }

                    listen = value;
                    break;
                case "--log-level":
                    logLevel = AgentLogLevel.Parse(value) ?? throw new TargetException($"The log level '{value}' is not one of {AgentLogLevel.Words}.");
                    break;
                case "--http-probe-ports":
                    probePorts = Ports(value);
                    break;
                case "--first-connection-timeout":
                    first = Seconds(value, "first connection timeout");
                    break;
                default:
                    idle = Seconds(value, "idle exit");
                    break;
            }
        }

        return target is null
            ? throw new TargetException($"The option --target is required; {Usage}")
            : new AgentOptions { Target = target, NetworkNamespace = netns, Listen = listen, IdleExit = idle, FirstConnectionTimeout = first, LogLevel = logLevel, HttpProbePorts = probePorts };
    }

    private static TimeSpan Seconds(string value, string what) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 && seconds <= 86_400
            ? TimeSpan.FromSeconds(seconds)
            : throw new TargetException($"The {what} '{value}' is not a number of seconds between 0 and 86400.");

    /// <summary><c>P,Q,…</c>: ports in 1–65535, comma-separated (repeats allowed).</summary>
    private static HashSet<int> Ports(string value)
    {
        var ports = new HashSet<int>();
        foreach (var word in value.Split(','))
        {
            if (!ushort.TryParse(word, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port == 0)
            {
                throw new TargetException($"The HTTP probe ports '{value}' are not a comma-separated list of ports between 1 and 65535.");
            }

            ports.Add(port);
        }

        return ports;
    }

    private static bool IsLoopbackTcp(string value) =>
        value.StartsWith("127.0.0.1:", StringComparison.Ordinal)
        && ushort.TryParse(value.AsSpan("127.0.0.1:".Length), NumberStyles.None, CultureInfo.InvariantCulture, out _);
}
