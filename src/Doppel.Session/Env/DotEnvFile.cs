using System.Globalization;
using System.Text;
using Doppel.Config.Loading;

namespace Doppel.Session.Env;

/// <summary>
/// Reads a .env file the way mirrord does (it uses the Rust <c>dotenvy</c> crate, 0.15), so a
/// file that works with <c>mirrord exec --env-file</c> gives the same variables here, and one
/// mirrord rejects is rejected here too, with its file and line:
/// <list type="bullet">
/// <item><c>NAME=value</c>; the name starts with a letter or <c>_</c> and goes on with letters,
/// digits, <c>_</c> and <c>.</c>; blanks around <c>=</c> are allowed; an optional <c>export </c> prefix.</item>
/// <item>Blank lines and lines starting with <c>#</c> are skipped; after an unquoted value or a
/// closing quote, blanks and a <c># comment</c> may follow, nothing else (<c>A=b c</c> is an error:
/// quote it).</item>
/// <item><c>'single quotes'</c> are literal; <c>"double quotes"</c> understand <c>\n</c>, <c>\\</c>,
/// <c>\"</c>, <c>\'</c>, <c>\$</c> and <c>\ </c> (any other escape is an error); outside quotes a
/// backslash escapes the same characters. Quoted values may span several lines.</item>
/// <item><c>${NAME}</c> and <c>$NAME</c> are replaced outside single quotes: by the local
/// environment's value, else by an earlier line's, else by nothing. A bare <c>$NAME</c> takes
/// letters and digits only and the character after it is kept as it is, as in dotenvy:
/// <c>$A_B</c> is <c>$A</c> then <c>_B</c>, and <c>"$A"</c> leaves the quote open (write
/// <c>"${A}"</c>).</item>
/// </list>
/// </summary>
public static class DotEnvFile
{
    /// <summary>Reads and parses <paramref name="path"/>; throws <see cref="EnvFileException"/> naming the file (and line).</summary>
    /// <param name="path">The file.</param>
    /// <param name="environment">The local environment, for <c>${NAME}</c>.</param>
    public static IReadOnlyList<KeyValuePair<string, string>> Read(string path, Func<string, string?> environment)
    {
        if (Directory.Exists(path))
        {
            throw new EnvFileException($"the env file {path} is a directory; give the path of a file of NAME=value lines.");
        }

        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EnvFileException($"cannot read the env file {path}: {e.Message}", e);
        }

        return Parse(Decode(bytes, path), path, environment);
    }

    /// <summary>The file's text, which must be UTF-8 as for dotenvy (<see cref="Utf8Text"/>; a UTF-8 byte-order mark is allowed).</summary>
    private static string Decode(byte[] bytes, string path) =>
        Utf8Text.TryDecode(bytes, out var problem) ?? throw new EnvFileException($"the env file {path} {problem}");

    /// <summary>Parses a .env file's text; <paramref name="source"/> names it in errors (<c>SOURCE:LINE: ...</c>).</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Parse(string text, string source, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(environment);
        var result = new List<KeyValuePair<string, string>>();
        var earlier = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (entry, line) in Entries(text.TrimStart('\uFEFF'), source))
        {
            var parsed = new EntryParser(entry, source, line, environment, earlier).Parse();
            if (parsed is { } variable)
            {
                earlier[variable.Key] = variable.Value;
                result.Add(variable);
            }
        }

        return result;
    }

    /// <summary>
    /// Splits the text into entries, each with the line it starts on: one line, or several while a
    /// quote is open. A comment after a blank ends the entry there.
    /// </summary>
    private static IEnumerable<(string Entry, int Line)> Entries(string text, string source)
    {
        var lines = text.Split('\n');
        var lineNumber = 0;
        while (lineNumber < lines.Length)
        {
            var start = lineNumber;
            var entry = new StringBuilder();
            var state = ScanState.Plain;
            while (true)
            {
                var line = lines[lineNumber].TrimEnd('\r');
                lineNumber++;
                if (entry.Length == 0 && line.TrimStart().StartsWith('#'))
                {
                    break;
                }

                var commentAt = Scan(line, ref state);
                entry.Append(commentAt >= 0 ? line[..commentAt] : line);
                if (state == ScanState.Plain)
                {
                    break;
                }

                if (lineNumber == lines.Length)
                {
                    throw new EnvFileException(string.Format(
                        CultureInfo.InvariantCulture, "{0}:{1}: a quote opened here is never closed; close it (a value may span lines only inside quotes).", source, start + 1));
                }

                entry.Append('\n');
            }

            yield return (entry.ToString(), start + 1);
        }
    }

    /// <summary>
    /// Scans one line from <paramref name="state"/> (dotenvy's quoted-lines scanner); returns where
    /// a comment starts (a <c>#</c> after a blank outside quotes), or -1. The line break that ends
    /// the line closes an escape or a blank, so only an open quote carries on to the next line.
    /// </summary>
    private static int Scan(string line, ref ScanState state)
    {
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (state == ScanState.Blank && c == '#')
            {
                state = ScanState.Plain;
                return i;
            }

            state = state switch
            {
                ScanState.Blank or ScanState.Plain => c switch
                {
                    '\\' => ScanState.Escape,
                    '"' => ScanState.Double,
                    '\'' => ScanState.Single,
                    ' ' or '\t' => ScanState.Blank,
                    _ => ScanState.Plain,
                },
                ScanState.Escape => ScanState.Plain,
                ScanState.Double => c switch { '\\' => ScanState.DoubleEscape, '"' => ScanState.Plain, _ => ScanState.Double },
                ScanState.DoubleEscape => ScanState.Double,
                ScanState.Single => c switch { '\\' => ScanState.SingleEscape, '\'' => ScanState.Plain, _ => ScanState.Single },
                _ => ScanState.Single,
            };
        }

        state = state switch
        {
            ScanState.Escape or ScanState.Blank => ScanState.Plain,
            ScanState.DoubleEscape => ScanState.Double,
            ScanState.SingleEscape => ScanState.Single,
            _ => state,
        };
        return -1;
    }

    private enum ScanState
    {
        Plain,
        Blank,
        Escape,
        Double,
        DoubleEscape,
        Single,
        SingleEscape,
    }

    /// <summary>One entry: <c>[export] NAME = value</c>.</summary>
    private sealed class EntryParser(string entry, string source, int line, Func<string, string?> environment, Dictionary<string, string> earlier)
    {
        private readonly string _text = entry.TrimEnd();
        private int _at;

        public KeyValuePair<string, string>? Parse()
        {
            SkipBlanks();
            if (_at == _text.Length || _text[_at] == '#')
            {
                return null;
            }

            var name = Name();
            SkipBlanks();
            if (name == "export" && !At('='))
            {
                name = Name();
                SkipBlanks();
            }

            if (!At('='))
            {
                throw Error($"expected NAME=value, found '{FirstLine()}'; names start with a letter or '_'.");
            }

            _at++;
            SkipBlanks();
            return new(name, _at == _text.Length || _text[_at] == '#' ? string.Empty : Value());
        }

        private bool At(char c) => _at < _text.Length && _text[_at] == c;

        private void SkipBlanks()
        {
            while (_at < _text.Length && char.IsWhiteSpace(_text[_at]))
            {
                _at++;
            }
        }

        private string Name()
        {
            var start = _at;
            if (_at < _text.Length && (char.IsAsciiLetter(_text[_at]) || _text[_at] == '_'))
            {
                while (_at < _text.Length && (char.IsAsciiLetterOrDigit(_text[_at]) || _text[_at] is '_' or '.'))
                {
                    _at++;
                }
            }

            return _at > start ? _text[start.._at] : throw Error($"expected NAME=value, found '{FirstLine()}'; names start with a letter or '_'.");
        }

        /// <summary>The value, quotes and escapes resolved and variables replaced (dotenvy's parse_value).</summary>
        private string Value()
        {
            var output = new StringBuilder();
            var name = new StringBuilder();
            var single = false;
            var @double = false;
            var escaped = false;
            var substitution = Substitution.None;
            for (; _at < _text.Length; _at++)
            {
                var c = _text[_at];
                if (escaped)
                {
                    output.Append(c switch
                    {
                        '\\' or '\'' or '"' or '$' or ' ' => c,
                        'n' => '\n',
                        _ => throw Error($"'\\{c}' is not an escape a .env value knows (\\n, \\\\, \\\", \\', \\$, '\\ '); write '\\\\{c}' for a backslash."),
                    });
                    escaped = false;
                }
                else if (single)
                {
                    if (c == '\'')
                    {
                        single = false;
                    }
                    else
                    {
                        output.Append(c);
                    }
                }
                else if (substitution != Substitution.None)
                {
                    if (substitution == Substitution.Braced)
                    {
                        if (c == '}')
                        {
                            Substitute(name, output);
                            substitution = Substitution.None;
                        }
                        else
                        {
                            name.Append(c);
                        }
                    }
                    else if (char.IsLetterOrDigit(c))
                    {
                        name.Append(c);
                    }
                    else if (c == '{' && name.Length == 0)
                    {
                        substitution = Substitution.Braced;
                    }
                    else
                    {
                        // As dotenvy does, the character that ends a bare name is taken as it is
                        // (a quote there does not close the value: write "${NAME}").
                        Substitute(name, output);
                        substitution = c == '$' ? Substitution.Bare : Substitution.None;
                        if (c != '$')
                        {
                            output.Append(c);
                        }
                    }
                }
                else if (c == '$')
                {
                    substitution = Substitution.Bare;
                }
                else if (@double)
                {
                    if (c == '"')
                    {
                        @double = false;
                    }
                    else if (c == '\\')
                    {
                        escaped = true;
                    }
                    else
                    {
                        output.Append(c);
                    }
                }
                else if (c == '\'')
                {
                    single = true;
                }
                else if (c == '"')
                {
                    @double = true;
                }
                else if (c == '\\')
                {
                    escaped = true;
                }
                else if (c is ' ' or '\t')
                {
                    RestIsBlankOrComment();
                    break;
                }
                else
                {
                    output.Append(c);
                }
            }

            if (substitution == Substitution.Braced)
            {
                throw Error("a '${' is never closed with '}'; close it, or write '\\$' for a literal dollar sign.");
            }

            if (single || @double)
            {
                throw Error("a quote is never closed; close it.");
            }

            Substitute(name, output);
            return output.ToString();
        }

        private void RestIsBlankOrComment()
        {
            for (var i = _at; i < _text.Length; i++)
            {
                if (_text[i] == '#')
                {
                    return;
                }

                if (_text[i] is not (' ' or '\t'))
                {
                    throw Error($"the value has a blank in it ('{FirstLine()}'); quote a value that contains blanks, e.g. NAME=\"a b\".");
                }
            }
        }

        private void Substitute(StringBuilder name, StringBuilder output)
        {
            if (name.Length == 0)
            {
                return;
            }

            var variable = name.ToString();
            name.Clear();
            output.Append(environment(variable) ?? earlier.GetValueOrDefault(variable) ?? string.Empty);
        }

        private string FirstLine() => _text.Split('\n')[0].Trim();

        private EnvFileException Error(string message) =>
            new(string.Format(CultureInfo.InvariantCulture, "{0}:{1}: {2}", source, line, message));

        private enum Substitution
        {
            None,
            Bare,
            Braced,
        }
    }
}
