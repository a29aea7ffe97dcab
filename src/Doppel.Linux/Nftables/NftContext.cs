using Doppel.Linux.Native;
using System.Runtime.InteropServices;

namespace Doppel.Linux.Nftables;

/// <summary>
/// One libnftables context (<c>struct nft_ctx</c>, <c>libnftables.so.1</c>, Debian package
/// libnftables1) running nft commands as text. The context opens its netlink socket when it is
/// created and keeps it until <see cref="Dispose"/>, so:
/// <list type="bullet">
/// <item>it acts on the network namespace of the thread that created it (create it on a thread
/// that has joined the target's namespace), from whichever thread calls it later;</item>
/// <item>a table created through it with <c>flags owner</c> belongs to that socket: only this
/// context may change it, and the kernel deletes it when the socket closes — on
/// <see cref="Dispose"/> or when the process dies in any way, SIGKILL included (kernel ≥ 5.12).</item>
/// </list>
/// libnftables keeps some process-wide state, so every call into it is serialised. Not for
/// concurrent use; callers run it from one thread.
/// </summary>
public sealed partial class NftContext : IDisposable
{
    private const string Library = "libnftables.so.1";
    private const uint NftCtxDefault = 0;
    private static readonly Lock s_library = new();
    private readonly Dictionary<int, string?> _inheritedBefore;
    private nint _handle;

    private NftContext(nint handle, Dictionary<int, string?> before)
    {
        _handle = handle;
        _inheritedBefore = before;
        CloseNewSocketsOnExec();
    }

    /// <summary>
    /// Creates a context (and its netlink socket) in the calling thread's network namespace.
    /// Throws <see cref="NftablesException"/> when libnftables is missing or the context cannot be made.
    /// </summary>
    public static NftContext Create()
    {
        nint handle;
        var before = OpenDescriptors();
        try
        {
            lock (s_library)
            {
                handle = NftCtxNew(NftCtxDefault);
                if (handle != 0)
                {
                    // Output and errors into buffers we read, never onto the process's stdout/stderr.
                    _ = NftCtxBufferOutput(handle);
                    _ = NftCtxBufferError(handle);
                }
            }
        }
        catch (DllNotFoundException e)
        {
            throw new NftablesException($"{Library} was not found: install the libnftables1 package.", e);
        }

        return handle == 0 ? throw new NftablesException("libnftables could not create a context.") : new NftContext(handle, before);
    }

    /// <summary>
    /// Runs one or more nft commands (separated by newlines or ';') as one transaction: all take
    /// effect or none. Returns what they printed (for <c>list</c>); throws
    /// <see cref="NftablesException"/> with nft's error text when the batch fails.
    /// </summary>
    public string Run(string commands)
    {
        ArgumentNullException.ThrowIfNull(commands);
        lock (s_library)
        {
            ObjectDisposedException.ThrowIf(_handle == 0, this);
            var result = NftRunCmdFromBuffer(_handle, commands);
            var output = Marshal.PtrToStringUTF8(NftCtxGetOutputBuffer(_handle)) ?? string.Empty;
            var error = Marshal.PtrToStringUTF8(NftCtxGetErrorBuffer(_handle)) ?? string.Empty;
            CloseNewSocketsOnExec();
            return result == 0
                ? output
                : throw new NftablesException($"nft failed: {(error.Length > 0 ? error.Trim() : "no error text")} (commands: {commands.Trim()})");
        }
    }

    /// <summary>Frees the context and closes its netlink socket (the kernel then deletes the owner tables it made).</summary>
    public void Dispose()
    {
        lock (s_library)
        {
            if (_handle != 0)
            {
                NftCtxFree(_handle);
                _handle = 0;
            }
        }
    }

    /// <summary>
    /// libnftables opens its netlink socket without <c>SOCK_CLOEXEC</c> (libmnl's
    /// <c>mnl_socket_open</c>), so every child the process forks would inherit it and keep the
    /// owner tables alive after this process dies, until the child exits. Sockets that appeared
    /// since the context was made get <c>FD_CLOEXEC</c> (harmless for the others: .NET opens every
    /// descriptor close-on-exec). A fork in the instant between the socket's creation and this
    /// call still inherits it.
    /// </summary>
    private void CloseNewSocketsOnExec()
    {
        foreach (var (fd, target) in OpenDescriptors())
        {
            // Compared by what the descriptor is, not its number: listing /proc/self/fd uses a
            // descriptor whose number a later socket may get.
            if (target?.StartsWith("socket:", StringComparison.Ordinal) == true
                && !(_inheritedBefore.TryGetValue(fd, out var earlier) && earlier == target))
            {
                var flags = LibC.Syscall(SyscallNumber.Fcntl, fd, 1 /* F_GETFD */);
                if (flags >= 0 && (flags & 1 /* FD_CLOEXEC */) == 0)
                {
                    _ = LibC.Syscall(SyscallNumber.Fcntl, fd, 2 /* F_SETFD */, flags | 1);
                }
            }
        }
    }

    // Every open descriptor with its link target ("socket:[INODE]", a path, ...); null when it closed meanwhile.
    private static Dictionary<int, string?> OpenDescriptors()
    {
        var fds = new Dictionary<int, string?>();
        foreach (var entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            if (int.TryParse(Path.GetFileName(entry), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var fd))
            {
                try
                {
                    fds[fd] = new FileInfo(entry).LinkTarget;
                }
                catch (IOException)
                {
                    fds[fd] = null;
                }
            }
        }

        return fds;
    }

    [LibraryImport(Library, EntryPoint = "nft_ctx_new")]
    private static partial nint NftCtxNew(uint flags);

    [LibraryImport(Library, EntryPoint = "nft_ctx_free")]
    private static partial void NftCtxFree(nint ctx);

    [LibraryImport(Library, EntryPoint = "nft_ctx_buffer_output")]
    private static partial int NftCtxBufferOutput(nint ctx);

    [LibraryImport(Library, EntryPoint = "nft_ctx_buffer_error")]
    private static partial int NftCtxBufferError(nint ctx);

    [LibraryImport(Library, EntryPoint = "nft_ctx_get_output_buffer")]
    private static partial nint NftCtxGetOutputBuffer(nint ctx);

    [LibraryImport(Library, EntryPoint = "nft_ctx_get_error_buffer")]
    private static partial nint NftCtxGetErrorBuffer(nint ctx);

    [LibraryImport(Library, EntryPoint = "nft_run_cmd_from_buffer", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int NftRunCmdFromBuffer(nint ctx, string buffer);
}
