using Doppel.Interception.Policy;
using Doppel.Interception.Tests.Support;
using Doppel.Testing;

namespace Doppel.Interception.Tests.Files;

/// <summary>
/// Stat of a pod path and fstat of an fd opened on it describe one file (device, inode, owner,
/// mode, size, times), whichever call form a program uses: GNU cp, install and tar compare them.
/// </summary>
public sealed class StatAndFstatTests
{
    // Prints one line per call: "dev ino mode uid gid size mtime.ns ctime.ns" (the ctime only where the call has it).
    private const string Compare = """
        #define _GNU_SOURCE
        #include <fcntl.h>
        #include <stdio.h>
        #include <string.h>
        #include <sys/stat.h>
        #include <sys/syscall.h>
        #include <sys/sysmacros.h>
        #include <unistd.h>

        static void show(const char *call, int rc, struct stat *s)
        {
            if (rc != 0) { printf("%s failed\n", call); return; }
            printf("%s %llu %llu %o %u %u %lld %lld.%09ld %lld.%09ld\n", call,
                (unsigned long long)s->st_dev, (unsigned long long)s->st_ino, s->st_mode, s->st_uid, s->st_gid,
                (long long)s->st_size, (long long)s->st_mtim.tv_sec, s->st_mtim.tv_nsec, (long long)s->st_ctim.tv_sec, s->st_ctim.tv_nsec);
        }

        static void showx(const char *call, int rc, struct statx *x)
        {
            if (rc != 0) { printf("%s failed\n", call); return; }
            printf("%s %llu %llu %o %u %u %lld %lld.%09u %lld.%09u\n", call,
                (unsigned long long)makedev(x->stx_dev_major, x->stx_dev_minor), (unsigned long long)x->stx_ino, x->stx_mode, x->stx_uid, x->stx_gid,
                (long long)x->stx_size, (long long)x->stx_mtime.tv_sec, x->stx_mtime.tv_nsec, (long long)x->stx_ctime.tv_sec, x->stx_ctime.tv_nsec);
        }

        int main(int argc, char **argv)
        {
            struct stat s;
            struct statx x;
            int flags = strcmp(argv[2], "write") == 0 ? O_WRONLY | O_CREAT | O_APPEND : argv[2][0] == 'd' ? O_RDONLY | O_DIRECTORY : O_RDONLY;
            show("stat", stat(argv[1], &s), &s);
            show("lstat", lstat(argv[1], &s), &s);
            showx("statx", statx(AT_FDCWD, argv[1], 0, STATX_BASIC_STATS, &x), &x);
            int fd = open(argv[1], flags, 0640);
            if (fd < 0) { perror("open"); return 1; }
            if (flags & O_WRONLY) { write(fd, "hello", 5); }
            show("stat", stat(argv[1], &s), &s);
            show("fstat", fstat(fd, &s), &s);
            show("fstat", (int)syscall(SYS_fstat, fd, &s), &s);
            show("fstat", fstatat(fd, "", &s, AT_EMPTY_PATH), &s);
            showx("statx", statx(AT_FDCWD, argv[1], 0, STATX_BASIC_STATS, &x), &x);
            showx("fstatx", statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &x), &x);
            return 0;
        }
        """;

    [Fact]
    public async Task CpCopiesAPodFileToALocalFile()
    {
        using var fs = new RemoteFileSystem();
        var path = fs.Write("etc/app.conf", "setting=1\n");
        var target = LocalTarget();
        try
        {
            var result = await Run.IsolatedAsync(Run.Options("cp", path, target), fs.Policy(), fs.Remote);

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal("", result.Stderr);
            Assert.Equal("setting=1\n", await File.ReadAllTextAsync(target));
        }
        finally
        {
            File.Delete(target);
        }
    }

    [Theory]
    [InlineData("-a")]
    [InlineData("-p")]
    public async Task CpPreservingAttributesCopiesAPodFileWithItsModeAndTime(string option)
    {
        using var fs = new RemoteFileSystem();
        var path = fs.Write("bin/tool", "#!/bin/sh\n", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead);
        var time = new DateTime(2022, 5, 6, 7, 8, 9, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(fs.LocalOf(path), time);
        var target = LocalTarget();
        try
        {
            // The pod's owner (1234:2345) cannot be given away by an unprivileged copy: cp -a/-p say nothing of it then.
            var result = await Run.IsolatedAsync(Run.Options("cp", option, path, target), fs.Policy(), fs.Remote);

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.DoesNotContain("replaced", result.Stderr, StringComparison.Ordinal);
            Assert.Equal("#!/bin/sh\n", await File.ReadAllTextAsync(target));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead, File.GetUnixFileMode(target));
            Assert.Equal(time, File.GetLastWriteTimeUtc(target));
        }
        finally
        {
            File.Delete(target);
        }
    }

    [Fact]
    public async Task InstallCopiesAPodFile()
    {
        using var fs = new RemoteFileSystem();
        var path = fs.Write("bin/script", "echo hi\n");
        var target = LocalTarget();
        try
        {
            var result = await Run.IsolatedAsync(Run.Options("install", "-m", "0750", path, target), fs.Policy(), fs.Remote);

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal("", result.Stderr);
            Assert.Equal("echo hi\n", await File.ReadAllTextAsync(target));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute, File.GetUnixFileMode(target));
        }
        finally
        {
            File.Delete(target);
        }
    }

    [Fact]
    public async Task CpOfAPodFileChangedSinceItWasReadCopiesTheNewContent()
    {
        using var fs = new RemoteFileSystem();
        var path = fs.Write("etc/changing.conf", "v1\n");
        var backing = fs.LocalOf(path); // the pod's own copy: changed behind doppel's back
        var target = LocalTarget();
        try
        {
            var result = await Run.IsolatedAsync(Run.Options("sh", "-c", $"cat {path} >/dev/null && echo version-two > {backing} && cp {path} {target}"), fs.Policy(), fs.Remote);

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal("", result.Stderr);
            Assert.Equal("version-two\n", await File.ReadAllTextAsync(target));
        }
        finally
        {
            File.Delete(target);
        }
    }

    [Fact]
    public async Task TarOfAPodDirectoryArchivesItWithoutChangedFileWarnings()
    {
        using var fs = new RemoteFileSystem();
        fs.Write("site/index.html", "<h1>hi</h1>\n");
        fs.Write("site/css/main.css", "body{}\n");
        fs.Write("site/empty", "");
        var archive = LocalTarget() + ".tar";
        try
        {
            var result = await Run.IsolatedAsync(
                Run.Options("sh", "-c", $"tar -cf {archive} -C {fs.Prefix} site && tar -tf {archive} | sort"),
                fs.Policy(),
                fs.Remote);

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal("", result.Stderr); // "file changed as we read it" is tar's complaint when fstat disagrees with stat
            Assert.Equal("site/\nsite/css/\nsite/css/main.css\nsite/empty\nsite/index.html\n", result.Stdout);
        }
        finally
        {
            File.Delete(archive);
        }
    }

    [Fact]
    public async Task PythonShutilCopiesAPodFile()
    {
        using var fs = new RemoteFileSystem();
        var path = fs.Write("data/rows.csv", "a,b\n1,2\n");
        var target = LocalTarget();
        try
        {
            var result = await Run.IsolatedAsync(
                Run.Options("python3", "-c", $"import shutil; shutil.copy('{path}', '{target}'); shutil.copy2('{path}', '{target}.2')"),
                fs.Policy(),
                fs.Remote);

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal("a,b\n1,2\n", await File.ReadAllTextAsync(target));
            Assert.Equal("a,b\n1,2\n", await File.ReadAllTextAsync(target + ".2"));
        }
        finally
        {
            File.Delete(target);
            File.Delete(target + ".2");
        }
    }

    [Fact]
    public async Task StatAndEveryFormOfFstatAgreeOnAPodFile()
    {
        using var fs = new RemoteFileSystem();
        var path = fs.Write("etc/app.conf", "0123456789", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        using var program = CProgram.Compile(Compare);

        var result = await Run.IsolatedAsync(Run.Options(program.Path, path, "read"), fs.Policy(), fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = Lines(result.Stdout);
        Assert.Equal(9, lines.Length);
        Assert.All(lines, l => Assert.Equal(Fields(lines[0]), Fields(l)));
        Assert.Equal(["100640", "1234", "2345", "10"], Fields(lines[0])[2..6]); // the pod's mode, owner and size
    }

    [Fact]
    public async Task StatAndFstatAgreeOnAPodFileBeingWritten()
    {
        using var fs = new RemoteFileSystem();
        var path = fs.Write("log/app.log", "abc");
        using var program = CProgram.Compile(Compare);
        var policy = fs.Policy(SyscallFamilies.FilesRead | SyscallFamilies.FilesWrite | SyscallFamilies.FilesWriteThrough) with { AllowWrites = true };

        var result = await Run.IsolatedAsync(Run.Options(program.Path, path, "write"), policy, fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = Lines(result.Stdout);
        Assert.Equal(9, lines.Length);
        var after = lines[3..];
        Assert.All(after, l => Assert.Equal(Fields(after[0]), Fields(l)));
        Assert.Equal("8", Fields(after[0])[5]); // its own latest write, by path and by fd
        Assert.Equal(Fields(lines[0])[..2], Fields(after[0])[..2]); // one file before and after the open
    }

    [Fact]
    public async Task StatAndFstatAgreeOnAPodDirectory()
    {
        using var fs = new RemoteFileSystem();
        fs.Write("srv/a", "a");
        using var program = CProgram.Compile(Compare);

        var result = await Run.IsolatedAsync(Run.Options(program.Path, fs.Prefix + "/srv", "directory"), fs.Policy(), fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = Lines(result.Stdout);
        Assert.Equal(9, lines.Length);

        // Identity, type, mode and owner (a directory's size and times are the file system's own).
        Assert.All(lines, l => Assert.Equal(Fields(lines[0])[..5], Fields(l)[..5]));
    }

    private static string LocalTarget() => Path.Combine(Path.GetTempPath(), $"doppel-copy-{Guid.NewGuid():N}");

    private static string[] Lines(string output) => output.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    // The fields after the call's name; statx has no separate ctime resolution issue: both print ns.
    private static string[] Fields(string line) => line.Split(' ')[1..];
}
