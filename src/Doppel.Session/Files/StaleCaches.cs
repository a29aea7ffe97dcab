using System.Globalization;
using System.Text.RegularExpressions;
using Doppel.Linux.Files;
using Doppel.Linux.Processes;

namespace Doppel.Session.Files;

/// <summary>
/// Cache trees (<see cref="CacheTree"/>, <c>TMP/doppel-cache-PID-GUID</c>) that a killed session
/// left behind: a later session removes each one whose PID no longer runs, and only when it is
/// a real directory (not a symlink) owned by this user whose name is exactly that pattern; any
/// other entry of the temp directory is left alone. A tree whose PID now belongs to another live
/// process stays until that one ends too.
/// </summary>
internal static partial class StaleCaches
{
    private const uint DirectoryType = 0x4000; // S_IFDIR

    /// <summary>Removes the dead sessions' trees under <paramref name="tempDirectory"/>; returns how many went.</summary>
    public static int RemoveDead(string tempDirectory)
    {
        List<string> candidates;
        try
        {
            candidates = Directory.EnumerateDirectories(tempDirectory, "doppel-cache-*").ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }

        var removed = 0;
        foreach (var path in candidates)
        {
            if (IsDeadSessionsTree(path))
            {
                try
                {
                    Directory.Delete(path, recursive: true);
                    removed++;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Another doppel removes it at the same moment, or a file in it is not ours.
                }
            }
        }

        return removed;
    }

    private static bool IsDeadSessionsTree(string path)
    {
        var name = TreeName().Match(Path.GetFileName(path));
        return name.Success
            && int.TryParse(name.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            && pid != Environment.ProcessId
            && !Directory.Exists($"/proc/{pid}")
            && RootedFiles.Stat(path, followSymlinks: false, out var info) == 0
            && (info.Mode & StatxInfo.TypeMask) == DirectoryType
            && info.Uid == EffectiveUser.Id;
    }

    [GeneratedRegex("^doppel-cache-([0-9]{1,9})-[0-9a-f]{32}$", RegexOptions.CultureInvariant)]
    private static partial Regex TreeName();
}
