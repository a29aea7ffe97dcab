using Doppel.Cli;

// The launcher mode comes first: between installing the seccomp filter and handing it over, the
// launcher may not touch files, so no host, logger or console may be built before this check.
if (Doppel.Interception.LauncherMode.IsLauncherInvocation(args)) { return Doppel.Interception.LauncherMode.Run(args); }

return await DoppelCli.RunAsync(args, CliEnvironment.FromProcess(), CancellationToken.None).ConfigureAwait(false);
