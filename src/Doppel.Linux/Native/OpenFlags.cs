namespace Doppel.Linux.Native;

/// <summary>open(2) flags (x86_64 values).</summary>
public static class OpenFlags
{
    public const int AccessModeMask = 3;
    public const int ReadOnly = 0;
    public const int WriteOnly = 1;
    public const int ReadWrite = 2;
    public const int Create = 0x40;
    public const int Exclusive = 0x80;
    public const int Truncate = 0x200;
    public const int Append = 0x400;
    public const int NonBlock = 0x800;
    public const int Directory = 0x10000;
    public const int NoFollow = 0x20000;
    public const int CloseOnExec = 0x80000;
    public const int Path = 0x200000;
    public const int TmpFile = 0x410000;

    public const int AtFdCwd = -100;
    public const int AtSymlinkNoFollow = 0x100;
    public const int AtRemoveDir = 0x200;
    public const int AtEaccess = 0x200;
    public const int AtSymlinkFollow = 0x400;
    public const int AtEmptyPath = 0x1000;
}
