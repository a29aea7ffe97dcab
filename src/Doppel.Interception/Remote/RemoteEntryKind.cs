namespace Doppel.Interception.Remote;

public enum RemoteEntryKind
{
    File,
    Directory,
    Symlink,
    Other,
}
