namespace Doppel.Interception.Tests.Support;

/// <summary>
/// A "remote file system" for a test: a temp directory whose content appears under
/// <see cref="Prefix"/>, a path that exists nowhere locally (so an unintercepted access fails).
/// </summary>
internal sealed class RemoteFileSystem : IDisposable
{
    /// <param name="createsInOneCall">The remote side answers open(O_CREAT) in one call (<see cref="DirectoryRemote.CreatesInOneCall"/>).</param>
    public RemoteFileSystem(bool createsInOneCall = true)
    {
        Root = Directory.CreateTempSubdirectory("doppel-remote-").FullName;
        Prefix = $"/doppel-remote-{Guid.NewGuid():N}"[..24];
        Directory.CreateDirectory(Root + Prefix);
        Remote = new DirectoryRemote(Root) { CreatesInOneCall = createsInOneCall };
    }

    public string Root { get; }

    /// <summary>The remote directory the tests use, e.g. /doppel-remote-1a2b3c4d.</summary>
    public string Prefix { get; }

    public DirectoryRemote Remote { get; }

    public TestPolicy Policy(Doppel.Interception.Policy.SyscallFamilies families = Doppel.Interception.Policy.SyscallFamilies.FilesRead)
        => new() { Families = families, RemotePrefixes = [Prefix] };

    /// <summary>Writes a remote file (path relative to the prefix) and returns its remote path.</summary>
    public string Write(string relative, string content, UnixFileMode? mode = null)
    {
        var local = Root + Prefix + "/" + relative;
        Directory.CreateDirectory(Path.GetDirectoryName(local)!);
        File.WriteAllText(local, content);
        if (mode is { } m)
        {
            File.SetUnixFileMode(local, m);
        }

        return Prefix + "/" + relative;
    }

    public string Symlink(string relative, string target)
    {
        var local = Root + Prefix + "/" + relative;
        Directory.CreateDirectory(Path.GetDirectoryName(local)!);
        File.CreateSymbolicLink(local, target);
        return Prefix + "/" + relative;
    }

    public string LocalOf(string remotePath) => Root + remotePath;

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
