using Doppel.Interception.Tests.Support;

namespace Doppel.Interception.Tests.Files;

/// <summary>
/// execve of a relative program from a pod working directory never runs another file: the kernel
/// would resolve it against the directory the process had before it entered the pod.
/// </summary>
public sealed class RelativeExecTests
{
    [Fact]
    public async Task DotSlashProgInAPodDirectoryNeverRunsTheLocalProgOfTheKernelsDirectory()
    {
        using var fs = new RemoteFileSystem();
        fs.Write("app/prog", "#!/bin/sh\necho pod prog\n", (UnixFileMode)0x1ED);
        var local = Directory.CreateTempSubdirectory("doppel-exec-").FullName;
        try
        {
            // A local ./prog where the kernel would look: the shell starts in that directory.
            await File.WriteAllTextAsync(Path.Combine(local, "prog"), "#!/bin/sh\necho LOCAL prog\n");
            File.SetUnixFileMode(Path.Combine(local, "prog"), (UnixFileMode)0x1ED);
            var policy = fs.Policy();
            var options = Run.Options("sh", "-c", $"cd {fs.Prefix}/app && ./prog; echo rc=$?; ./missing; echo rc=$?; ./prog; cd {local} && ./prog") with { WorkingDirectory = local };

            var result = await Run.IsolatedAsync(options, policy, fs.Remote);

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal("rc=127\nrc=127\nLOCAL prog\n", result.Stdout);
            Assert.DoesNotContain("pod prog", result.Stdout, StringComparison.Ordinal);

            // Told for each exec of the pod file the program named (the session warns once per path); nothing for a name that exists nowhere.
            Assert.Equal([("./prog", fs.Prefix + "/app/prog", true), ("./prog", fs.Prefix + "/app/prog", true)], policy.ProgramsNotRun);
        }
        finally
        {
            Directory.Delete(local, recursive: true);
        }
    }

    [Fact]
    public async Task ARelativeProgramOnThisMachineReachedThroughAPodDirectoryIsNotRunInsteadOfAnother()
    {
        using var fs = new RemoteFileSystem();
        fs.Write("app/x", "x");
        var start = Directory.CreateTempSubdirectory("doppel-exec-start-").FullName;
        var other = Directory.CreateTempSubdirectory("doppel-exec-other-").FullName;
        try
        {
            foreach (var (directory, text) in new[] { (start, "START"), (other, "other") })
            {
                await File.WriteAllTextAsync(Path.Combine(directory, "prog"), $"#!/bin/sh\necho {text}\n");
                File.SetUnixFileMode(Path.Combine(directory, "prog"), (UnixFileMode)0x1ED);
            }

            // Into the pod, then relatively back out to `other` (python's chdir passes the relative
            // path; a shell's cd would pass an absolute one): the kernel's directory is still `start`.
            var back = Path.GetRelativePath(fs.Prefix + "/app", other);
            var script = $"""
                import os, subprocess
                os.chdir("{fs.Prefix}/app")
                os.chdir("{back}")
                print(os.getcwd() == "{other}", flush=True)
                try:
                    subprocess.run(["./prog"])
                except FileNotFoundError:
                    print("rc=127", flush=True)
                subprocess.run(["{other}/prog"])
                """;
            var policy = fs.Policy();
            var options = Run.Options("python3", "-c", script) with { WorkingDirectory = start };

            var result = await Run.IsolatedAsync(options, policy, fs.Remote);

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal("True\nrc=127\nother\n", result.Stdout);
            Assert.Equal([("./prog", other + "/prog", false)], policy.ProgramsNotRun);
        }
        finally
        {
            Directory.Delete(start, recursive: true);
            Directory.Delete(other, recursive: true);
        }
    }

    [Fact]
    public async Task RelativeProgramsRunAsBeforeWithoutAPodWorkingDirectory()
    {
        using var fs = new RemoteFileSystem();
        var local = Directory.CreateTempSubdirectory("doppel-exec-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(local, "prog"), "#!/bin/sh\necho local prog\n");
            File.SetUnixFileMode(Path.Combine(local, "prog"), (UnixFileMode)0x1ED);
            var policy = fs.Policy();

            var result = await Run.IsolatedAsync(Run.Options("sh", "-c", "./prog && cd / && ./bin/true && echo ok") with { WorkingDirectory = local }, policy, fs.Remote);

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal("local prog\nok\n", result.Stdout);
            Assert.Empty(policy.ProgramsNotRun);
        }
        finally
        {
            Directory.Delete(local, recursive: true);
        }
    }
}
