using Doppel.Protocol.V1;

namespace Doppel.Protocol.Incoming;

/// <summary>
/// An <see cref="HttpFilter"/> as one line for people (<c>doppel status</c>, the "other sessions"
/// line): a header filter is its regex as written (<c>X-Dev-User: alice</c>), the others name
/// their kind (<c>path ^/api</c>, <c>method POST</c>, <c>json $.user ~ alice</c>), and lists join
/// their operands with <c>and</c> / <c>or</c>, nested lists in parentheses.
/// </summary>
public static class HttpFilterText
{
    /// <summary>The filter as text; empty for null (a whole port).</summary>
    public static string Format(HttpFilter? filter) => filter is null ? string.Empty : Format(filter, nested: false);

    private static string Format(HttpFilter filter, bool nested) => filter.KindCase switch
    {
        HttpFilter.KindOneofCase.Header => filter.Header,
        HttpFilter.KindOneofCase.Path => "path " + filter.Path,
        HttpFilter.KindOneofCase.Method => "method " + filter.Method,
        HttpFilter.KindOneofCase.JsonBody => $"json {filter.JsonBody.Query} ~ {filter.JsonBody.Matches}",
        HttpFilter.KindOneofCase.AllOf => List(filter.AllOf, " and ", nested),
        HttpFilter.KindOneofCase.AnyOf => List(filter.AnyOf, " or ", nested),
        _ => "?",
    };

    private static string List(HttpFilterList list, string separator, bool nested)
    {
        var text = string.Join(separator, list.Filters.Select(f => Format(f, nested: true)));
        return nested && list.Filters.Count > 1 ? $"({text})" : text;
    }
}
