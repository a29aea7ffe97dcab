using System.Diagnostics;
using Doppel.Config.Templating;

namespace Doppel.Config.Tests.Templating;

public sealed class GitBranchTests : IDisposable
{
    private static readonly Func<string, string?> s_noEnvironment = _ => null;

    private readonly string _directory = Directory.CreateTempSubdirectory("doppel-git-branch-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void DetectReadsTheCheckedOutBranchOfARealRepository()
    {
        Git("init", "-q", "-b", "feature-x");
        File.WriteAllText(Path.Combine(_directory, "README"), "hello\n");
        Git("add", "README");
        Git("-c", "user.name=doppel", "-c", "user.email=doppel@example.invalid", "-c", "commit.gpgsign=false", "commit", "-q", "-m", "first");

        Assert.Equal("feature-x", GitBranch.Detect(s_noEnvironment, _directory));
    }

    [Fact]
    public void DetectReturnsNullOutsideARepository()
    {
        // A .git file pointing nowhere makes git fail here exactly as outside any repository,
        // whatever directories lie above the temporary one.
        File.WriteAllText(Path.Combine(_directory, ".git"), "gitdir: " + Path.Combine(_directory, "missing") + "\n");

        Assert.Null(GitBranch.Detect(s_noEnvironment, _directory));
    }

    [Fact]
    public void BranchNameVariablesOverrideGit()
    {
        var environment = new Dictionary<string, string> { ["MIRRORD_BRANCH_NAME"] = "from-mirrord" };

        Assert.Equal("from-mirrord", GitBranch.Detect(name => environment.GetValueOrDefault(name), _directory));

        environment["DOPPEL_BRANCH_NAME"] = "from-doppel";
        Assert.Equal("from-doppel", GitBranch.Detect(name => environment.GetValueOrDefault(name), _directory));
    }

    [Fact]
    public void ProcessContextRendersTheBranchOfItsWorkingDirectory()
    {
        Git("init", "-q", "-b", "feature/y");
        Git("-c", "user.name=doppel", "-c", "user.email=doppel@example.invalid", "-c", "commit.gpgsign=false", "commit", "-q", "--allow-empty", "-m", "first");

        var context = new TemplateContext(s_noEnvironment, key: null, () => GitBranch.Detect(s_noEnvironment, _directory));

        Assert.Equal("feature-y", TemplateRenderer.Render("{{ git_branch | replace(from=\"/\", to=\"-\") }}", context, file: null));
    }

    private void Git(params string[] arguments)
    {
        var start = new ProcessStartInfo("git") { WorkingDirectory = _directory, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"git {string.Join(' ', arguments)} failed: {output}");
    }
}
