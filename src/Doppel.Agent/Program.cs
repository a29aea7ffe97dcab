using Doppel.Agent.Hosting;
using Doppel.Agent.Network;
using Doppel.Agent.Targets;

// doppel-agent --target pid/N | container/ID | targetless [--netns NAME|PATH] [--listen unix:PATH | 127.0.0.1:PORT] [--idle-exit SECONDS] [--log-level LEVEL] [--http-probe-ports P,Q]
// Exit codes: 0 after an idle exit or a signal, 2 for a bad flag or target, 1 when the listener cannot start.
InlineSocketCompletions.Enable(); // before any socket: the runtime reads it once
try
{
    var options = AgentArguments.Parse(args);
    var target = TargetResolver.Resolve(options.Target, options.NetworkNamespace) with { HttpProbePorts = options.HttpProbePorts };
    using var network = TargetNetwork.Open(target);
    return await AgentHost.RunAsync(options, target, network, CancellationToken.None).ConfigureAwait(false);
}
catch (TargetException e)
{
    await Console.Error.WriteLineAsync($"doppel-agent: {e.Message}").ConfigureAwait(false);
    return AgentHost.ExitUsage;
}
