namespace Doppel.Config.Templating;

/// <summary>
/// Parses and evaluates the tokens of one <c>{{ ... }}</c> block in a single pass:
/// <code>
/// expression := filtered ( '~' filtered )*
/// filtered   := primary ( '|' name arguments? )*
/// primary    := string | number | name arguments? | '(' expression ')'
/// arguments  := '(' ( name '=' expression ( ',' name '=' expression )* ','? )? ')'
/// </code>
/// A name with arguments calls a function (<c>get_env</c>); without, it reads a variable
/// (<c>key</c>, <c>git_branch</c>, <c>true</c>, <c>false</c>).
/// </summary>
internal sealed class TemplateEvaluator
{
    private const string KnownFunctions = "get_env";
    private const string KnownVariables = "key and git_branch";
    private const string KnownFilters = "lower, upper, trim, replace and default";

    private readonly TemplateSource _source;
    private readonly TemplateContext _context;
    private readonly List<TemplateToken> _tokens;
    private int _index;

    private TemplateEvaluator(TemplateSource source, TemplateContext context, List<TemplateToken> tokens)
    {
        _source = source;
        _context = context;
        _tokens = tokens;
    }

    private TemplateToken Current => _tokens[_index];

    /// <summary>The text the block renders to; throws <see cref="ConfigException"/> for any problem.</summary>
    public static string Evaluate(TemplateSource source, TemplateContext context, List<TemplateToken> tokens)
    {
        var evaluator = new TemplateEvaluator(source, context, tokens);
        if (evaluator.Current.Kind == TemplateTokenKind.End)
        {
            throw source.Fail(evaluator.Current.Offset, "the template block is empty; put an expression such as get_env(name=\"USER\") in it, or remove it.");
        }

        var value = evaluator.Expression();
        if (evaluator.Current.Kind != TemplateTokenKind.End)
        {
            throw evaluator.Unexpected("'|', '~' or the end of the block '}}'");
        }

        return value.Require();
    }

    private TemplateValue Expression()
    {
        var value = Filtered();
        if (Current.Kind != TemplateTokenKind.Tilde)
        {
            return value;
        }

        var text = value.Require();
        while (Current.Kind == TemplateTokenKind.Tilde)
        {
            _index++;
            text += Filtered().Require();
        }

        return TemplateValue.Of(text);
    }

    private TemplateValue Filtered()
    {
        var value = Primary();
        while (Current.Kind == TemplateTokenKind.Pipe)
        {
            _index++;
            var name = Expect(TemplateTokenKind.Identifier, "a filter name such as lower");
            if (!IsKnownFilter(name.Text))
            {
                throw _source.Fail(name.Offset, $"the template uses an unknown filter '{name.Text}'; the known filters are {KnownFilters}.");
            }

            var arguments = Current.Kind == TemplateTokenKind.LeftParen ? Arguments(name, isFunction: false) : new TemplateArguments(name, isFunction: false);
            value = ApplyFilter(name, value, arguments);
        }

        return value;
    }

    private TemplateValue Primary()
    {
        var token = Current;
        switch (token.Kind)
        {
            case TemplateTokenKind.String:
            case TemplateTokenKind.Number:
                _index++;
                return TemplateValue.Of(token.Text);

            case TemplateTokenKind.LeftParen:
                _index++;
                var inner = Expression();
                Expect(TemplateTokenKind.RightParen, "')'");
                return inner;

            case TemplateTokenKind.Identifier:
                _index++;
                if (Current.Kind != TemplateTokenKind.LeftParen)
                {
                    return ReadVariable(token);
                }

                if (token.Text != "get_env")
                {
                    throw _source.Fail(token.Offset, $"the template calls an unknown function '{token.Text}'; the known functions are {KnownFunctions}.");
                }

                return GetEnv(token, Arguments(token, isFunction: true));

            default:
                throw Unexpected("a value: get_env(...), key, git_branch or a quoted string");
        }
    }

    private TemplateArguments Arguments(TemplateToken callee, bool isFunction)
    {
        var arguments = new TemplateArguments(callee, isFunction);
        Expect(TemplateTokenKind.LeftParen, "'('");
        while (Current.Kind != TemplateTokenKind.RightParen)
        {
            if (Current.Kind == TemplateTokenKind.End)
            {
                throw Unexpected("an argument such as name=\"...\" or ')'");
            }

            if (Current.Kind != TemplateTokenKind.Identifier || _tokens[_index + 1].Kind != TemplateTokenKind.Equals)
            {
                throw _source.Fail(
                    Current.Offset,
                    $"the arguments of '{callee.Text}' must be named, for example {Example(callee.Text)}.");
            }

            var name = Current;
            _index += 2;
            arguments.Add(_source, name, Expression());

            if (Current.Kind == TemplateTokenKind.Comma)
            {
                _index++;
            }
            else if (Current.Kind != TemplateTokenKind.RightParen)
            {
                throw Unexpected("',' or ')'");
            }
        }

        _index++;
        return arguments;
    }

    private TemplateValue GetEnv(TemplateToken function, TemplateArguments arguments)
    {
        arguments.Allow(_source, "name", "default");
        var name = arguments.Required(_source, "name", Example("get_env")).Require();
        var value = _context.Environment(name);
        if (value is not null)
        {
            return TemplateValue.Of(value);
        }

        if (arguments.Optional("default") is { } fallback)
        {
            return TemplateValue.Of(fallback.Require());
        }

        return TemplateValue.Undefined(_source.Error(
            function.Offset,
            $"environment variable '{name}' is not set and the template gives no default; set it or add default=\"...\"."));
    }

    private TemplateValue ReadVariable(TemplateToken variable)
    {
        switch (variable.Text)
        {
            case "key":
                _context.NoteKeyRead();
                return _context.Key is { } key
                    ? TemplateValue.Of(key)
                    : TemplateValue.Undefined(_source.Error(
                        variable.Offset,
                        "the template uses the variable 'key', but no session key is known while rendering; pass -k/--key or set MIRRORD_KEY (or DOPPEL_KEY), or add | default(value=\"...\")."));

            case "git_branch":
                return _context.GitBranch is { } branch
                    ? TemplateValue.Of(branch)
                    : TemplateValue.Undefined(_source.Error(
                        variable.Offset,
                        "the template uses the variable 'git_branch', but the git branch is unknown (not a git repository, a detached HEAD, or git is not installed); set MIRRORD_BRANCH_NAME (or DOPPEL_BRANCH_NAME), or add | default(value=\"...\")."));

            case "true":
            case "false":
                return TemplateValue.Of(variable.Text);

            default:
                // Undefined rather than an immediate error: as in Tera, `x | default(value="y")` works.
                return TemplateValue.Undefined(_source.Error(
                    variable.Offset,
                    $"the template uses an unknown variable '{variable.Text}'; the known variables are {KnownVariables}."));
        }
    }

    private TemplateValue ApplyFilter(TemplateToken filter, TemplateValue input, TemplateArguments arguments)
    {
        switch (filter.Text)
        {
            case "default":
                // Tera's default applies only to an undefined value, not to an empty string.
                arguments.Allow(_source, "value");
                var fallback = arguments.Required(_source, "value", Example("default"));
                return input.IsDefined ? input : TemplateValue.Of(fallback.Require());

            case "lower":
                arguments.Allow(_source);
                return TemplateValue.Of(input.Require().ToLowerInvariant());

            case "upper":
                arguments.Allow(_source);
                return TemplateValue.Of(input.Require().ToUpperInvariant());

            case "trim":
                arguments.Allow(_source);
                return TemplateValue.Of(input.Require().Trim());

            case "replace":
                arguments.Allow(_source, "from", "to");
                var from = arguments.Required(_source, "from", Example("replace")).Require();
                var to = arguments.Required(_source, "to", Example("replace")).Require();
                var text = input.Require();
                return TemplateValue.Of(from.Length == 0 ? text : text.Replace(from, to, StringComparison.Ordinal));

            default:
                throw new InvalidOperationException($"The filter '{filter.Text}' passed IsKnownFilter but has no implementation.");
        }
    }

    private static bool IsKnownFilter(string name) => name is "default" or "lower" or "upper" or "trim" or "replace";

    private TemplateToken Expect(TemplateTokenKind kind, string expected)
    {
        if (Current.Kind != kind)
        {
            throw Unexpected(expected);
        }

        return _tokens[_index++];
    }

    private ConfigException Unexpected(string expected) =>
        _source.Fail(Current.Offset, $"unexpected {Current.Describe()} in the template expression; expected {expected}.");

    private static string Example(string callee) => callee switch
    {
        "get_env" => "get_env(name=\"USER\", default=\"unknown\")",
        "replace" => "replace(from=\"a\", to=\"b\")",
        "default" => "default(value=\"x\")",
        _ => callee,
    };
}
