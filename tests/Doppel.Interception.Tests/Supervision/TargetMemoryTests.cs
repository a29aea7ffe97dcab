using Doppel.Interception.Tests.Support;

namespace Doppel.Interception.Tests.Supervision;

public sealed class TargetMemoryTests
{
    [Fact]
    public async Task PathEndingJustBeforeAnUnmappedPageIsRead()
    {
        using var fs = new RemoteFileSystem();
        var path = fs.Write("edge.txt", "edge\n");
        // The path's NUL is the last byte of a readable page; the next page is PROT_NONE.
        var script = $$"""
            import ctypes, mmap, os
            libc = ctypes.CDLL(None, use_errno=True)
            libc.mmap.restype = ctypes.c_void_p
            libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
            libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
            libc.open.argtypes = [ctypes.c_void_p, ctypes.c_int]
            page = mmap.PAGESIZE
            base = libc.mmap(None, 2 * page, 3, 0x22, -1, 0)
            assert libc.mprotect(base + page, page, 0) == 0
            raw = b"{{path}}\0"
            at = base + page - len(raw)
            ctypes.memmove(at, raw, len(raw))
            fd = libc.open(at, os.O_RDONLY)
            assert fd >= 0, ctypes.get_errno()
            print(os.read(fd, 100).decode(), end="")
            # A path running into the unmapped page is EFAULT, as without doppel.
            ctypes.memmove(base + page - 4, b"/abc", 4)
            print(libc.open(base + page - 4, os.O_RDONLY), ctypes.get_errno())
            """;

        var result = await Run.IsolatedAsync(Run.Options("python3", "-c", script), fs.Policy(), fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("edge\n-1 14\n", result.Stdout);
    }
}
