using Doppel.Cli;

// The launcher mode comes first: between installing the seccomp filter and handing it over, the
// launcher may not touch files, so no host, logger or console may be built before this check.
if (Doppel.Interception.LauncherMode.IsLauncherInvocation(args)) { return Doppel.Interception.LauncherMode.Run(args); }

// A closed stdin, stdout or stderr (`doppel --version 2>&-`) would make the console's first write
// abort the process: /dev/null takes its place before anything touches the console. (After the
// launcher check: the launcher hands the program its descriptors exactly as they are.)
Doppel.Linux.Processes.StandardDescriptors.OpenClosedOnDevNull();

// Before anything writes: .NET's own console writers would leave the terminal in application cursor-key mode.
StandardWriters.Install();

// A helper (the local agent) started in its own session, out of reach of the terminal's Ctrl+C.
if (Doppel.Cli.Running.NewSessionMode.IsInvocation(args)) { return Doppel.Cli.Running.NewSessionMode.Run(args); }

return await DoppelCli.RunAsync(args, CliEnvironment.FromProcess(), CancellationToken.None).ConfigureAwait(false);
