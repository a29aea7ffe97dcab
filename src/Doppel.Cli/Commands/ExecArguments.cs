using System.CommandLine;

namespace Doppel.Cli.Commands;

/// <summary>
/// <c>doppel exec -t x npm run dev --port 3000</c> must pass <c>--port 3000</c> to npm, as mirrord
/// does: everything from the program name on belongs to the program. System.CommandLine would
/// parse <c>--port</c> as one of ours, so a <c>--</c> is inserted before the program name when the
/// user did not write one.
/// </summary>
internal static class ExecArguments
{
    /// <summary>Options before the program name that exec does not know (the parser would take them for the program).</summary>
    public static IReadOnlyList<string> UnknownOptions(string[] args, RootCommand root)
    {
        var exec = root.Subcommands.First(c => c.Name == "exec");
        var execAt = FindSubcommand(args, root, exec.Name);
        var unknown = new List<string>();
        for (var i = execAt + 1; execAt >= 0 && i < args.Length && args[i] != "--"; i++)
        {
            var token = args[i];
            if (!token.StartsWith('-') || token.Length == 1)
            {
                break;
            }

            var name = token.Split('=', 2)[0];
            if (Find(exec, root, name) is not { } option)
            {
                if (!name.StartsWith("--", StringComparison.Ordinal) && name.Length > 2 && name[1..].All(c => Find(exec, root, "-" + c) is not null))
                {
                    continue; // bundled short flags such as -ce
                }

                unknown.Add(name);
            }
            else if (!token.Contains('=', StringComparison.Ordinal) && TakesNext(option, args, i))
            {
                i++;
            }
        }

        return unknown;
    }

    /// <summary>
    /// Options given to <paramref name="command"/> (any subcommand but exec, which has <see cref="UnknownOptions(string[], RootCommand)"/>)
    /// that it does not know: the parser would take them for its argument.
    /// </summary>
    public static IReadOnlyList<string> UnknownOptions(string[] args, RootCommand root, Command command)
    {
        var at = FindSubcommand(args, root, command.Name);
        var unknown = new List<string>();
        for (var i = at + 1; at >= 0 && i < args.Length && args[i] != "--"; i++)
        {
            var name = args[i].Split('=', 2)[0];
            if (name.StartsWith('-') && name.Length > 1 && Find(command, root, name) is null)
            {
                unknown.Add(name);
            }
        }

        return unknown;
    }

    public static string[] Prepare(string[] args, RootCommand root)
    {
        var exec = root.Subcommands.First(c => c.Name == "exec");
        var execAt = FindSubcommand(args, root, exec.Name);
        if (execAt < 0)
        {
            return args;
        }

        for (var i = execAt + 1; i < args.Length; i++)
        {
            var token = args[i];
            if (token == "--")
            {
                return args;
            }

            if (token.StartsWith('-') && token.Length > 1)
            {
                if (!token.Contains('=', StringComparison.Ordinal) && Find(exec, root, token) is { } option && TakesNext(option, args, i))
                {
                    i++;
                }

                continue;
            }

            return [.. args[..i], "--", .. args[i..]];
        }

        return args;
    }

    private static int FindSubcommand(string[] args, RootCommand root, string name)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == name)
            {
                return i;
            }

            if (!args[i].StartsWith('-') || args[i] == "--")
            {
                return -1; // another subcommand, or a stray argument: leave the parser to report it
            }

            if (TakesValue(root, root, args[i]))
            {
                i++;
            }
        }

        return -1;
    }

    private static bool TakesValue(Command command, RootCommand root, string token) =>
        Find(command, root, token) is { } option && TakesValue(option);

    /// <summary>
    /// Whether the token after <c>args[at]</c> is the option's value. An option whose value may be
    /// left out (<c>-f</c>, as in mirrord) takes the next token only when it is not an option.
    /// </summary>
    private static bool TakesNext(Option option, string[] args, int at) =>
        TakesValue(option) && (option.Arity.MinimumNumberOfValues > 0 || (at + 1 < args.Length && !args[at + 1].StartsWith('-')));

    private static bool TakesValue(Option option) => option.Arity.MaximumNumberOfValues > 0 && option.ValueType != typeof(bool);

    private static Option? Find(Command command, RootCommand root, string token) =>
        command.Options.Concat(root.Options.Where(o => o.Recursive)).FirstOrDefault(o => o.Name == token || o.Aliases.Contains(token));
}
