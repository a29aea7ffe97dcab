using Doppel.EndToEnd.Tests.Support;
using Doppel.Testing;

namespace Doppel.EndToEnd.Tests.Files;

/// <summary>
/// The working directory in the pod: /app/site exists only in the pod (no /app on this machine),
/// so every cd into it and every relative path below it is answered by doppel, not the kernel.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class WorkingDirectoryTests(ClusterFixture fixture)
{
    private const string Site = "/app/site";

    private string Target => $"pid/{fixture.Bff.Pid}";

    [Fact]
    public async Task ShellCdIntoAPodOnlyDirectoryReadsRelativePathsPrintsItAndListsItsParent()
    {
        Assert.False(Directory.Exists("/app"), "the test needs /app to exist only in the pod");

        // cat, /bin/pwd and ls are children started after the cd: they inherit the pod directory.
        var result = await fixture.ExecAsync(["-t", Target, "--", "sh", "-c", $"cd {Site} && cat conf/settings.ini && pwd && /bin/pwd && ls .. && cd conf && ls"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.Stdout.Split('\n');
        Assert.Equal(ClusterFixture.SettingsIni + $"{Site}\n{Site}\n", string.Join('\n', lines[..4]) + "\n");
        var parent = lines[4..^2];
        Assert.Contains("config.json", parent);
        Assert.Contains("data", parent);
        Assert.Contains("site", parent);
        Assert.Equal("settings.ini", lines[^2]);
    }

    [Fact]
    public async Task PythonChdirThenRelativeOpenAndAChildInheritsTheDirectory()
    {
        var script = $"""
            import os, subprocess
            os.chdir("{Site}")
            print(os.getcwd())
            print(open("conf/settings.ini").read(), end="")
            print(subprocess.run(["cat", "conf/settings.ini"], capture_output=True, text=True).stdout, end="")
            print(subprocess.run(["pwd"], capture_output=True, text=True).stdout, end="")
            os.chdir("..")
            print(os.getcwd(), os.path.isdir("site"))
            """;

        var result = await fixture.ExecAsync(["-t", Target, "--", ClusterFixture.Python, "-c", script]);

        result.AssertSucceededWith($"{Site}\n{ClusterFixture.SettingsIni}{ClusterFixture.SettingsIni}{Site}\n/app True\n");
    }

    [Fact]
    public async Task BashCdToItsOwnStartingDirectoryWorksWhereThePodHasNoneOfItsParents()
    {
        // A project outside every built-in local path (/var/lib/…, /srv/…, /work/…): bash's cd "$PWD"
        // (pyenv's shims do it before every python3) stats /var/lib/doppel-e2e-…, /var/lib/… one by
        // one; the pod has none of them. Its other entries stay the pod's: /var/lib/dpkg is not listed.
        var project = Path.Combine("/var/lib", "doppel-e2e-cwd-" + Guid.NewGuid().ToString("N")[..8], "project");
        Directory.CreateDirectory(project);
        try
        {
            await using var doppel = DoppelExecProcess.Start(
                RepoPaths.Doppel, fixture.Cluster.Developer.Name,
                ["-t", Target, "--", "bash", "-c", "cd \"$PWD\" && cd .. && ls && cd project && pwd && test ! -e /var/lib/dpkg && echo ok"],
                project);
            var result = await doppel.WaitAsync(TimeSpan.FromSeconds(60));

            result.AssertSucceededWith($"project\n{project}\nok\n");
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(project)!, recursive: true);
        }
    }

    [Fact]
    public async Task GoChdirThenRelativeReadFile()
    {
        const string source = """
            package main

            import (
                "fmt"
                "os"
            )

            func main() {
                if err := os.Chdir(os.Args[1]); err != nil { fmt.Println("chdir:", err); os.Exit(3) }
                data, err := os.ReadFile("conf/settings.ini")
                if err != nil { fmt.Println("read:", err); os.Exit(4) }
                fmt.Print(string(data))
                wd, err := os.Getwd()
                if err != nil { fmt.Println("getwd:", err); os.Exit(5) }
                fmt.Println(wd)
            }
            """;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var program = await CompiledPrograms.BuildGoAsync(Path.Combine(fixture.WorkDirectory, "go-chdir"), source, "chdir", timeout.Token);

        var result = await fixture.ExecAsync(["-t", Target, "--", program, Site]);

        result.AssertSucceededWith($"{ClusterFixture.SettingsIni}{Site}\n");
    }

    [Fact]
    public async Task CdBackToALocalDirectoryUsesTheLocalFilesAgain()
    {
        var local = Directory.CreateTempSubdirectory("doppel-e2e-cwd-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(local, "here.txt"), "local file\n");

            var result = await fixture.ExecAsync(["-t", Target, "--", "sh", "-c", $"cd {Site} && ls && cd {local} && cat here.txt && /bin/pwd"]);

            result.AssertSucceededWith($"conf\nlocal file\n{local}\n");
        }
        finally
        {
            Directory.Delete(local, recursive: true);
        }
    }

    [Fact]
    public async Task DashCCwdStartsTheProgramInAPodOnlyDirectory()
    {
        var result = await fixture.ExecAsync(["-t", Target, "-C", Site, "--", "sh", "-c", "pwd && /bin/pwd && cat conf/settings.ini"]);

        result.AssertSucceededWith($"{Site}\n{Site}\n{ClusterFixture.SettingsIni}");
    }

    [Fact]
    public async Task DashCCwdNamingADirectoryNeitherHereNorInThePodIsOneSentenceAndExitCode2()
    {
        var result = await fixture.ExecAsync(["-t", Target, "--cwd", "/app/nowhere", "--", "pwd"]);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Equal(string.Empty, result.Stdout);
        Assert.Contains("--cwd names '/app/nowhere', which is a directory neither on this machine nor in the target's file system", result.Stderr);
    }
}
