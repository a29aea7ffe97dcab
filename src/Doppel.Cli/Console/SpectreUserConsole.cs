using Spectre.Console;

namespace Doppel.Cli;

/// <summary>
/// The terminal: results on stdout as plain text, messages on stderr, coloured when stderr is a
/// terminal. No write throws: after a hang-up (EIO) or a closed pipe, messages are dropped
/// (<see cref="HungUpTolerantWriter"/>), so doppel still stops its program and cleans up.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The writers wrap the process's stdout and stderr, which live as long as the process.")]
internal sealed class SpectreUserConsole : IUserConsole
{
    private readonly IAnsiConsole _stderr = CreateStderr();
    private readonly HungUpTolerantWriter _out = new(System.Console.Out);
    private readonly HungUpTolerantWriter _error = new(System.Console.Error);
    private bool _programRunning;
    private int _spinning;

    public TextWriter Out => _out;

    public TextWriter Error => _error;

    // Spectre writes to System.Console.Error itself (it recognises it as a terminal); _error's guard covers those writes.
    public void WriteError(string message) => _error.Guard(() => _stderr.MarkupLine($"[red bold]error:[/] {Markup.Escape(message)}"));

    public void WriteWarning(string message) => _error.Guard(() => _stderr.MarkupLine($"[yellow]warning:[/] {Markup.Escape(message)}"));

    public void WriteInfo(string message) => _error.Guard(() => _stderr.MarkupLine(Markup.Escape(message)));

    public void ProgramStarting() => Volatile.Write(ref _programRunning, true);

    public async Task<T> ProgressAsync<T>(string activity, Func<Task<T>> work, Func<T, string> done)
    {
        ArgumentNullException.ThrowIfNull(work);
        ArgumentNullException.ThrowIfNull(done);

        // One spinner at a time (Spectre draws one live display; replicas are joined at once), and
        // none once the program runs: its output is not redrawn over.
        if (System.Console.IsErrorRedirected || Volatile.Read(ref _programRunning) || Interlocked.Exchange(ref _spinning, 1) == 1)
        {
            return await IUserConsole.PlainProgressAsync(this, activity, work, done).ConfigureAwait(false);
        }

        try
        {
            return await SpinAsync(activity, work, done).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _spinning, 0);
        }
    }

    private async Task<T> SpinAsync<T>(string activity, Func<Task<T>> work, Func<T, string> done)
    {
        if (_error.IsGone)
        {
            return await work().ConfigureAwait(false);
        }

        Task<T>? started = null;
        try
        {
            var result = await _stderr.Status().Spinner(Spinner.Known.Dots).StartAsync(Markup.Escape(activity), _ => started = work()).ConfigureAwait(false);
            WriteInfoMarkup($"[green]✓[/] {Markup.Escape(done(result))}");
            return result;
        }
        catch (IOException) when (started is not { IsFaulted: true })
        {
            // The spinner's write failed (the terminal hung up), not the work: it goes on unseen.
            _error.MarkGone();
            return await (started ?? work()).ConfigureAwait(false);
        }
    }

    private void WriteInfoMarkup(string markup) => _error.Guard(() => _stderr.MarkupLine(markup));

    private static IAnsiConsole CreateStderr()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(System.Console.Error) });

        // One message, one line: "file:line:col: key: message" stays whole for editors, grep and CI logs.
        console.Profile.Width = 4096;

        // Spectre would ask .NET's console for the terminal's height, and that initialises it, which leaves
        // the terminal in application cursor-key mode (StandardWriters): the kernel says it instead.
        console.Profile.Height = Doppel.Linux.Processes.TerminalSize.Of(2)?.Rows ?? 24;
        return console;
    }
}
