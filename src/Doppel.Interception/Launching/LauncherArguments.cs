namespace Doppel.Interception.Launching;

/// <summary>
/// The launcher's command line: <c>__doppel-launch CONTROL-SOCKET FILTER-BASE64 KILLABLE -- PROGRAM ARGS...</c>.
/// </summary>
internal sealed record LauncherArguments(string ControlSocket, byte[] Filter, bool WaitKillableRecv, IReadOnlyList<string> Argv)
{
    public const string Marker = "__doppel-launch";

    public IEnumerable<string> Format()
    {
        yield return Marker;
        yield return ControlSocket;
        yield return Convert.ToBase64String(Filter);
        yield return WaitKillableRecv ? "1" : "0";
        yield return "--";
        foreach (var a in Argv)
        {
            yield return a;
        }
    }

    public static LauncherArguments? Parse(string[] args)
    {
        if (args.Length < 6 || args[0] != Marker || args[4] != "--")
        {
            return null;
        }

        return new LauncherArguments(args[1], Convert.FromBase64String(args[2]), args[3] == "1", args[5..]);
    }
}
