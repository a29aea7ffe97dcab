using System.Globalization;

namespace Doppel.Interception.Launching;

/// <summary>
/// The launcher's command line:
/// <c>__doppel-launch CONTROL-SOCKET FILTER-BASE64 KILLABLE NOFILE-LIMIT|- PARENT-PID -- PROGRAM ARGS...</c>.
/// PARENT-PID is doppel's: the launcher dies with it (<see cref="Doppel.Linux.Processes.ParentDeath"/>).
/// </summary>
internal sealed record LauncherArguments(string ControlSocket, byte[] Filter, bool WaitKillableRecv, ulong? OpenFilesLimit, int ParentPid, IReadOnlyList<string> Argv)
{
    public const string Marker = "__doppel-launch";

    public IEnumerable<string> Format()
    {
        yield return Marker;
        yield return ControlSocket;
        yield return Convert.ToBase64String(Filter);
        yield return WaitKillableRecv ? "1" : "0";
        yield return OpenFilesLimit?.ToString(CultureInfo.InvariantCulture) ?? "-";
        yield return ParentPid.ToString(CultureInfo.InvariantCulture);
        yield return "--";
        foreach (var a in Argv)
        {
            yield return a;
        }
    }

    public static LauncherArguments? Parse(string[] args)
    {
        if (args.Length < 8 || args[0] != Marker || args[6] != "--"
            || !int.TryParse(args[5], NumberStyles.None, CultureInfo.InvariantCulture, out var parent))
        {
            return null;
        }

        ulong? limit = ulong.TryParse(args[4], NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
        return new LauncherArguments(args[1], Convert.FromBase64String(args[2]), args[3] == "1", limit, parent, args[7..]);
    }
}
