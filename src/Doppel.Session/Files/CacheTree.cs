using Doppel.Interception.Files;
using Doppel.Interception.Remote;
using Doppel.Linux.Native;
using Doppel.Linux.Processes;

namespace Doppel.Session.Files;

/// <summary>
/// The per-session cache tree: remote path <c>/a/b</c> lives at <c>ROOT/a/b</c>. Directories hold
/// one placeholder per remote entry (so getdents on an injected directory fd works natively);
/// files are empty until their content is fetched. Symlinks are followed on the remote side, so
/// the tree holds the followed view (lstat and readlink are answered from the remote).
/// </summary>
internal sealed class CacheTree : IDisposable
{
    private readonly bool _ownsRoot;

    /// <param name="root">
    /// The tree's directory; null makes a fresh one under the temp directory and deletes it on
    /// dispose (and first removes the trees killed sessions left there: <see cref="StaleCaches"/>).
    /// </param>
    public CacheTree(string? root)
    {
        _ownsRoot = root is null;
        if (_ownsRoot)
        {
            // In the background: a large leftover tree must not delay the session's start.
            _ = Task.Run(() => StaleCaches.RemoveDead(Path.GetTempPath()));
        }

        Root = RemotePath.Normalize(Path.GetFullPath(root ?? Path.Combine(Path.GetTempPath(), $"doppel-cache-{Environment.ProcessId}-{Guid.NewGuid():N}")));
        // Remote files may be secrets: the tree is the user's alone.
        Directory.CreateDirectory(Root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.SetUnixFileMode(Root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public string Root { get; }

    public string LocalPath(string remotePath) => remotePath == "/" ? Root : Root + remotePath;

    public string? RemotePathOf(string localPath)
    {
        if (localPath == Root)
        {
            return "/";
        }

        return localPath.StartsWith(Root, StringComparison.Ordinal) && localPath.Length > Root.Length && localPath[Root.Length] == '/'
            ? localPath[Root.Length..]
            : null;
    }

    /// <summary>A node of the right kind (a placeholder if new) and its (st_dev, st_ino); null when it cannot be made.</summary>
    public (ulong Device, ulong Inode)? EnsureNode(string remotePath, RemoteEntryKind kind)
    {
        var local = LocalPath(remotePath);
        try
        {
            EnsurePlaceholder(local, kind);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        return FileCalls.GetIdentity(local);
    }

    /// <summary>Makes <paramref name="local"/> a directory, or an (empty, if new) file for every other kind.</summary>
    public static void EnsurePlaceholder(string local, RemoteEntryKind kind)
    {
        var parent = Path.GetDirectoryName(local);
        if (parent is not null)
        {
            Directory.CreateDirectory(parent);
        }

        var isDirectory = Directory.Exists(local);
        if (kind == RemoteEntryKind.Directory)
        {
            if (!isDirectory)
            {
                if (File.Exists(local))
                {
                    File.Delete(local);
                }

                Directory.CreateDirectory(local);
            }

            return;
        }

        // Files, symlinks (followed remotely) and others are empty files until fetched. Created
        // read-only: the write-back counts a written file's opens by its IN_CLOSE_WRITE events, and
        // a placeholder's close must not be taken for the program's.
        if (!isDirectory && !File.Exists(local))
        {
            using var created = FileCalls.Open(local, OpenFlags.ReadOnly | OpenFlags.Create | OpenFlags.CloseOnExec, 0x1b6, out var errno);
            if (created is null && errno != Errno.EEXIST)
            {
                throw new IOException($"{local}: cannot create a placeholder (errno {errno})");
            }
        }
    }

    /// <summary>Removes a path's node (a directory with everything under it); a failure leaves it.</summary>
    public void Remove(string remotePath)
    {
        var local = LocalPath(remotePath);
        try
        {
            if (Directory.Exists(local) && new DirectoryInfo(local).LinkTarget is null)
            {
                Directory.Delete(local, recursive: true);
            }
            else if (File.Exists(local))
            {
                File.Delete(local);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    public void Dispose()
    {
        if (!_ownsRoot)
        {
            return;
        }

        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
