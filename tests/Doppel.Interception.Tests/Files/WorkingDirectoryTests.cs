using Doppel.Interception.Tests.Support;
using Doppel.Testing;

namespace Doppel.Interception.Tests.Files;

/// <summary>The working directory in the pod (FileHandler.WorkingDirectory.cs), with real tracees.</summary>
public sealed class WorkingDirectoryTests
{
    [Fact]
    public async Task ShellChangesIntoARemoteDirectoryReadsRelativePathsAndListsItsParent()
    {
        using var fs = new RemoteFileSystem();
        fs.Write("app/conf/settings.ini", "[pod]\nname=remote\n");
        fs.Write("sibling.txt", "s");
        var app = fs.Prefix + "/app";

        // /bin/pwd is a child started after the cd: it asks getcwd, which only the supervisor can answer.
        var result = await Run.IsolatedAsync(
            Run.Options("sh", "-c", $"cd {app} && cat conf/settings.ini && pwd && /bin/pwd && ls .. && cat ./../app/conf/../conf/settings.ini"),
            fs.Policy(), fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal($"[pod]\nname=remote\n{app}\n{app}\napp\nsibling.txt\n[pod]\nname=remote\n", result.Stdout);
    }

    [Fact]
    public async Task AnOPathDescriptorOfARemoteDirectoryServesStatFchdirAndRelativeOpens()
    {
        using var fs = new RemoteFileSystem();
        fs.Write("app/d/inside.txt", "in d");
        // coreutils' `mv FILE DIR` opens DIR with O_PATH|O_DIRECTORY and renames relative to it;
        // seccomp cannot hand over an O_PATH descriptor (it was EBADF).
        var script = $"""
            import os, stat
            fd = os.open("{fs.Prefix}/app/d/", os.O_RDONLY | os.O_PATH | os.O_DIRECTORY)
            print(stat.S_ISDIR(os.fstat(fd).st_mode))
            print(open(os.open("inside.txt", os.O_RDONLY, dir_fd=fd)).read())
            os.fchdir(fd)
            print(os.getcwd())
            """;

        var result = await Run.IsolatedAsync(Run.Options("python3", "-c", script), fs.Policy(), fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal($"True\nin d\n{fs.Prefix}/app/d\n", result.Stdout);
    }

    [Fact]
    public async Task PythonChdirGetcwdAndRelativeOpenUseThePodDirectory()
    {
        using var fs = new RemoteFileSystem();
        fs.Write("srv/data/x.txt", "pod data");
        var script = $"""
            import os
            os.chdir("{fs.Prefix}/srv")
            print(os.getcwd())
            print(open("data/x.txt").read())
            os.chdir("data")
            print(os.getcwd(), sorted(os.listdir(".")), os.path.isfile("x.txt"))
            try:
                os.chdir("x.txt")
            except NotADirectoryError:
                print("ENOTDIR")
            try:
                os.chdir("{fs.Prefix}/missing")
            except FileNotFoundError:
                print("ENOENT")
            os.chdir("/tmp")
            print(os.getcwd(), os.getcwd() == os.path.realpath("."))
            """;

        var result = await Run.IsolatedAsync(Run.Options("python3", "-c", script), fs.Policy(), fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal($"{fs.Prefix}/srv\npod data\n{fs.Prefix}/srv/data ['x.txt'] True\nENOTDIR\nENOENT\n/tmp True\n", result.Stdout);
    }

    [Fact]
    public async Task BackInALocalDirectoryTheKernelsWorkingDirectoryAppliesAgain()
    {
        using var fs = new RemoteFileSystem();
        fs.Write("dir/only-remote.txt", "r");
        var local = Directory.CreateTempSubdirectory("doppel-cwd-local-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(local, "only-local.txt"), "local content\n");

            // After cd back, a child's relative open and its getcwd are the kernel's again.
            var result = await Run.IsolatedAsync(
                Run.Options("sh", "-c", $"cd {fs.Prefix}/dir && ls && cd {local} && cat only-local.txt && /bin/pwd && ls"),
                fs.Policy(), fs.Remote);

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal($"only-remote.txt\nlocal content\n{local}\nonly-local.txt\n", result.Stdout);
        }
        finally
        {
            Directory.Delete(local, recursive: true);
        }
    }

    [Fact]
    public async Task FchdirIntoAnOpenedRemoteDirectoryAndGetcwdBufferTooSmall()
    {
        using var fs = new RemoteFileSystem();
        fs.Write("tree/leaf.txt", "leaf");
        using var program = CProgram.Compile("""
            #include <fcntl.h>
            #include <stdio.h>
            #include <string.h>
            #include <errno.h>
            #include <unistd.h>
            #include <sys/syscall.h>
            int main(int argc, char **argv) {
                int dir = open(argv[1], O_RDONLY | O_DIRECTORY);
                if (dir < 0) { perror("open"); return 1; }
                if (fchdir(dir) != 0) { perror("fchdir"); return 1; }
                char buf[4096];
                if (!getcwd(buf, sizeof buf)) { perror("getcwd"); return 1; }
                printf("%s\n", buf);
                char tiny[4];
                long r = syscall(SYS_getcwd, tiny, sizeof tiny);
                printf("%ld %s\n", r, r < 0 ? strerror(errno) : "");
                int fd = open("leaf.txt", O_RDONLY);
                char text[16] = {0};
                if (fd < 0 || read(fd, text, sizeof text - 1) < 0) { perror("leaf"); return 1; }
                printf("%s\n", text);
                int here = open("/", O_RDONLY | O_DIRECTORY);
                if (fchdir(here) != 0 || !getcwd(buf, sizeof buf)) { perror("back"); return 1; }
                printf("%s\n", buf);
                return 0;
            }
            """);

        var result = await Run.IsolatedAsync(Run.Options(program.Path, fs.Prefix + "/tree"), fs.Policy(), fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal($"{fs.Prefix}/tree\n-1 Numerical result out of range\nleaf\n/\n", result.Stdout);
    }

    [Fact]
    public async Task AProgramStartedInAPodDirectorySeesItAsItsWorkingDirectory()
    {
        using var fs = new RemoteFileSystem();
        fs.Write("start/here.txt", "started in the pod\n");

        var options = Run.Options("sh", "-c", "cat here.txt && /bin/pwd") with { VirtualWorkingDirectory = fs.Prefix + "/start" };
        var result = await Run.IsolatedAsync(options, fs.Policy(), fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal($"started in the pod\n{fs.Prefix}/start\n", result.Stdout);
    }

    [Fact]
    public async Task WithoutAPodDirectoryGetcwdAndChdirStayTheKernels()
    {
        using var fs = new RemoteFileSystem();

        var result = await Run.IsolatedAsync(Run.Options("sh", "-c", "cd /usr && /bin/pwd && cd /nonexistent-dir-doppel"), fs.Policy(), fs.Remote);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("/usr\n", result.Stdout);
        Assert.Contains("can't cd to /nonexistent-dir-doppel", result.Stderr);
    }

    [Fact]
    public async Task ChangingIntoASymlinkedPodDirectoryIsBeingInItsTarget()
    {
        using var fs = new RemoteFileSystem();
        fs.Write("releases/v2/app.conf", "v2");
        fs.Write("releases/notes.txt", "notes");
        fs.Symlink("current", "releases/v2");
        fs.Symlink("releases/latest", "v2");
        var script = $"""
            import os
            os.chdir("{fs.Prefix}/current")
            print(os.getcwd())
            print(open("app.conf").read())
            os.chdir("..")
            print(os.getcwd())
            print(open("notes.txt").read())
            os.chdir("latest/../latest")
            print(os.getcwd())
            """;

        var result = await Run.IsolatedAsync(Run.Options("python3", "-c", script), fs.Policy(), fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal($"{fs.Prefix}/releases/v2\nv2\n{fs.Prefix}/releases\nnotes\n{fs.Prefix}/releases/v2\n", result.Stdout);
    }
}
