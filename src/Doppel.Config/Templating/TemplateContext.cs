namespace Doppel.Config.Templating;

/// <summary>
/// What a configuration template can read: environment variables (through a function, so tests
/// never touch the real environment), the session <c>key</c>, and <c>git_branch</c>, which is
/// only worked out (possibly by running git) when a template actually uses it, and then once.
/// </summary>
public sealed class TemplateContext
{
    private readonly Lazy<string?> _gitBranch;

    /// <param name="environment">Reads one environment variable; null when it is unset.</param>
    /// <param name="key">The session key, or null when none is known while rendering.</param>
    /// <param name="gitBranch">Produces the branch name, or null when unknown; called at most once, and only when used.</param>
    public TemplateContext(Func<string, string?> environment, string? key = null, Func<string?>? gitBranch = null)
    {
        ArgumentNullException.ThrowIfNull(environment);
        Environment = environment;
        Key = key;
        _gitBranch = new Lazy<string?>(gitBranch ?? (static () => null));
    }

    public Func<string, string?> Environment { get; }

    public string? Key { get; }

    /// <summary>True once a template has read <c>key</c>; the loader then renders again with the file's own key.</summary>
    internal bool KeyWasRead { get; private set; }

    internal void NoteKeyRead() => KeyWasRead = true;

    /// <summary>The branch for <c>git_branch</c>; the first read runs the producer given to the constructor.</summary>
    public string? GitBranch => _gitBranch.Value;

    /// <summary>
    /// The context of a real run: the process environment, and the branch detected from
    /// <paramref name="workingDirectory"/> (see <see cref="Templating.GitBranch.Detect"/>).
    /// </summary>
    public static TemplateContext ForProcess(string? key, string workingDirectory)
    {
        Func<string, string?> environment = System.Environment.GetEnvironmentVariable;
        return new TemplateContext(environment, key, () => Templating.GitBranch.Detect(environment, workingDirectory));
    }
}
