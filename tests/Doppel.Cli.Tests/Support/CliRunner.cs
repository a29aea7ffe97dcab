namespace Doppel.Cli.Tests.Support;

/// <summary>Runs the real command tree in-process with an environment the test owns.</summary>
internal static class CliRunner
{
    public static async Task<(int ExitCode, TestConsole Console)> RunAsync(IReadOnlyDictionary<string, string>? env, string workingDirectory, params string[] args)
    {
        var console = new TestConsole();
        var environment = new CliEnvironment(
            name => env is not null && env.TryGetValue(name, out var v) ? v : null,
            workingDirectory,
            console,
            IsInteractive: false);
        var code = await DoppelCli.RunAsync(args, environment, CancellationToken.None);
        return (code, console);
    }

    public static Task<(int ExitCode, TestConsole Console)> RunAsync(params string[] args) => RunAsync(null, AppContext.BaseDirectory, args);
}
