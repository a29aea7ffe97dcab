namespace Doppel.Interception.Launching;

/// <summary>
/// The launcher's command line:
/// <c>__doppel-launch CONTROL-SOCKET FILTER-BASE64 KILLABLE NOFILE-LIMIT|- -- PROGRAM ARGS...</c>.
/// </summary>
internal sealed record LauncherArguments(string ControlSocket, byte[] Filter, bool WaitKillableRecv, ulong? OpenFilesLimit, IReadOnlyList<string> Argv)
{
    public const string Marker = "__doppel-launch";

    public IEnumerable<string> Format()
    {
        yield return Marker;
        yield return ControlSocket;
        yield return Convert.ToBase64String(Filter);
        yield return WaitKillableRecv ? "1" : "0";
        yield return OpenFilesLimit?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-";
        yield return "--";
        foreach (var a in Argv)
        {
            yield return a;
        }
    }

    public static LauncherArguments? Parse(string[] args)
    {
        if (args.Length < 7 || args[0] != Marker || args[5] != "--")
        {
            return null;
        }

        ulong? limit = ulong.TryParse(args[4], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) ? value : null;
        return new LauncherArguments(args[1], Convert.FromBase64String(args[2]), args[3] == "1", limit, args[6..]);
    }
}
