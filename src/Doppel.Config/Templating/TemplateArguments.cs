namespace Doppel.Config.Templating;

/// <summary>The named arguments of one function call or filter, with the checks every callee needs.</summary>
internal sealed class TemplateArguments(TemplateToken callee, bool isFunction)
{
    private readonly List<(TemplateToken Name, TemplateValue Value)> _arguments = [];

    private string Kind => isFunction ? "function" : "filter";

    public void Add(TemplateSource source, TemplateToken name, TemplateValue value)
    {
        if (_arguments.Exists(a => a.Name.Text == name.Text))
        {
            throw source.Fail(name.Offset, $"the argument '{name.Text}' of '{callee.Text}' is given twice; keep one.");
        }

        _arguments.Add((name, value));
    }

    /// <summary>Rejects any argument whose name is not in <paramref name="allowed"/>.</summary>
    public void Allow(TemplateSource source, params ReadOnlySpan<string> allowed)
    {
        foreach (var (name, _) in _arguments)
        {
            if (allowed.Contains(name.Text))
            {
                continue;
            }

            var message = allowed.Length == 0
                ? $"the {Kind} '{callee.Text}' takes no arguments; remove '{name.Text}='."
                : $"the {Kind} '{callee.Text}' has no argument '{name.Text}'; its arguments are {string.Join(" and ", allowed.ToArray())}.";
            throw source.Fail(name.Offset, message);
        }
    }

    public TemplateValue? Optional(string name)
    {
        foreach (var argument in _arguments)
        {
            if (argument.Name.Text == name)
            {
                return argument.Value;
            }
        }

        return null;
    }

    public TemplateValue Required(TemplateSource source, string name, string example) =>
        Optional(name) ?? throw source.Fail(callee.Offset, $"the {Kind} '{callee.Text}' needs the argument '{name}', for example {example}.");
}
