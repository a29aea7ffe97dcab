using Spectre.Console;

namespace Doppel.Cli;

/// <summary>The terminal: results on stdout as plain text, messages on stderr, coloured when stderr is a terminal.</summary>
internal sealed class SpectreUserConsole : IUserConsole
{
    private readonly IAnsiConsole _stderr = CreateStderr();

    public TextWriter Out => System.Console.Out;

    public TextWriter Error => System.Console.Error;

    public void WriteError(string message) => _stderr.MarkupLine($"[red bold]error:[/] {Markup.Escape(message)}");

    public void WriteWarning(string message) => _stderr.MarkupLine($"[yellow]warning:[/] {Markup.Escape(message)}");

    public void WriteInfo(string message) => _stderr.MarkupLine(Markup.Escape(message));

    public async Task<T> ProgressAsync<T>(string activity, Func<Task<T>> work, Func<T, string> done)
    {
        ArgumentNullException.ThrowIfNull(work);
        ArgumentNullException.ThrowIfNull(done);
        if (System.Console.IsErrorRedirected)
        {
            return await IUserConsole.PlainProgressAsync(this, activity, work, done).ConfigureAwait(false);
        }

        var result = await _stderr.Status().Spinner(Spinner.Known.Dots).StartAsync(Markup.Escape(activity), _ => work()).ConfigureAwait(false);
        _stderr.MarkupLine($"[green]✓[/] {Markup.Escape(done(result))}");
        return result;
    }

    private static IAnsiConsole CreateStderr()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(System.Console.Error) });

        // One message, one line: "file:line:col: key: message" stays whole for editors, grep and CI logs.
        console.Profile.Width = 4096;
        return console;
    }
}
