using Doppel.Config.Binding;

namespace Doppel.Config.Tests.Schema;

/// <summary>docs/configuration.md names every key mirrord has, and every one doppel does not implement.</summary>
public sealed class ConfigurationDocsTests
{
    private static readonly string s_docs = File.ReadAllText(Path.Combine(RepoRoot(), "docs", "configuration.md"));

    public static TheoryData<string> DocumentedKeys()
    {
        // Members of a key doppel does not implement are listed by name in its row, so two such
        // keys can share a name (internal_proxy and external_proxy both have start_idle_timeout):
        // each name is one case.
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var path in SchemaCoversMirrordTests.MirrordKeys())
        {
            var parent = path.Contains('.', StringComparison.Ordinal) ? path[..path.LastIndexOf('.')] : string.Empty;
            names.Add(MirrordOnlyKeys.Find(parent)?.Keys is not null ? path[(path.LastIndexOf('.') + 1)..] : path);
        }

        var data = new TheoryData<string>();
        foreach (var name in names)
        {
            data.Add(name);
        }

        return data;
    }

    public static TheoryData<string> NotImplemented()
    {
        var data = new TheoryData<string>();
        foreach (var key in MirrordOnlyKeys.All)
        {
            data.Add(key.Path);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(DocumentedKeys))]
    public void EveryMirrordKeyIsDocumented(string key)
    {
        Assert.Contains($"`{key}`", s_docs, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(NotImplemented))]
    public void EveryKeyDoppelDoesNotImplementIsInTheDocsTables(string path)
    {
        Assert.Contains(s_docs.Split('\n'), line => line.StartsWith('|') && line.Contains($"`{path}`", StringComparison.Ordinal));
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "doppel.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No doppel.slnx above {AppContext.BaseDirectory}.");
    }
}
