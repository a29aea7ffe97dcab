using System.Buffers.Binary;

namespace Doppel.Testing.Internal;

/// <summary>
/// A minimal root file system: a static busybox in /bin with every applet as a relative symlink
/// (an absolute one would point at the host's busybox), /etc/passwd and /etc/group, and the
/// directories runc mounts over.
/// </summary>
internal static class BusyboxRootfs
{
    private static readonly string[] s_candidates = ["/usr/bin/busybox", "/bin/busybox"];
    private static readonly SemaphoreSlim s_gate = new(1, 1);
    private static IReadOnlyList<string>? s_applets;

    public static async Task CreateAsync(string rootfs, CancellationToken cancellationToken)
    {
        var busybox = s_candidates.FirstOrDefault(File.Exists)
            ?? throw new MiniClusterException("busybox is missing: container pods need the static busybox (apt-get install busybox-static).");
        var applets = await AppletsAsync(busybox, cancellationToken);

        foreach (var dir in new[] { "bin", "etc", "proc", "sys", "dev", "root", "www", "app" })
        {
            Directory.CreateDirectory(Path.Join(rootfs, dir));
        }

        Directory.CreateDirectory(Path.Join(rootfs, "tmp"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
            | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute | UnixFileMode.StickyBit);
        File.Copy(busybox, Path.Join(rootfs, "bin", "busybox"));
        foreach (var applet in applets.Where(a => a != "busybox"))
        {
            File.CreateSymbolicLink(Path.Join(rootfs, "bin", applet), "busybox");
        }

        File.WriteAllText(Path.Join(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
        File.WriteAllText(Path.Join(rootfs, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n");
    }

    private static async Task<IReadOnlyList<string>> AppletsAsync(string busybox, CancellationToken cancellationToken)
    {
        await s_gate.WaitAsync(cancellationToken);
        try
        {
            if (s_applets is null)
            {
                // A dynamically linked busybox (package "busybox") cannot run in an empty rootfs.
                if (HasInterpreter(await File.ReadAllBytesAsync(busybox, cancellationToken)))
                {
                    throw new MiniClusterException($"{busybox} is dynamically linked: container pods need the static busybox (apt-get install busybox-static).");
                }

                var list = await Commands.CheckedAsync(cancellationToken, busybox, "--list");
                s_applets = list.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            }

            return s_applets;
        }
        finally
        {
            s_gate.Release();
        }
    }

    /// <summary>Whether an ELF64 file names a dynamic loader (a PT_INTERP program header).</summary>
    private static bool HasInterpreter(byte[] elf)
    {
        const uint PtInterp = 3;
        var headers = (int)BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan(0x20));
        var size = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(0x36));
        var count = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(0x38));
        for (var i = 0; i < count; i++)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan(headers + (i * size))) == PtInterp)
            {
                return true;
            }
        }

        return false;
    }
}
