// doppel-agent arrives with issue P3 ("Agent and session end to end"). Until then the
// executable exists so the solution shows the architecture, and it says plainly that it
// cannot serve anything yet rather than pretending to.
await Console.Error.WriteLineAsync(
    "doppel-agent: the agent is not implemented yet (it arrives with the P3 issue); nothing was started.").ConfigureAwait(false);
return 69; // EX_UNAVAILABLE
