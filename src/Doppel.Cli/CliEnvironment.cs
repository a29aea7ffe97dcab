namespace Doppel.Cli;

/// <summary>What commands read from the process around them; tests give their own.</summary>
public sealed record CliEnvironment(Func<string, string?> Variables, string WorkingDirectory, IUserConsole Console, bool IsInteractive)
{
    public static CliEnvironment FromProcess() => new(
        Environment.GetEnvironmentVariable,
        Directory.GetCurrentDirectory(),
        new SpectreUserConsole(),
        !System.Console.IsErrorRedirected);
}
