using System.Text.Json;
using Doppel.Protocol.Incoming;

namespace Doppel.Protocol.Tests.Incoming;

public sealed class JsonPathQueryTests
{
    private const string Document = """
        {
          "store": {
            "book": [
              {"category": "reference", "author": "Nigel Rees", "price": 8.95},
              {"category": "fiction", "author": "Evelyn Waugh", "price": 12.99},
              {"category": "fiction", "author": "Herman Melville", "isbn": "0-553-21311-3", "price": 8.99},
              {"category": "fiction", "author": "J. R. R. Tolkien", "price": 22.99}
            ],
            "bicycle": {"color": "red", "price": 399}
          },
          "o": {"j j": {"k.k": 3}, "a'b": 1}
        }
        """;

    // RFC 9535 §1.5 and §2.3 examples, results as compact JSON in RFC order.
    [Theory]
    [InlineData("$", null)]
    [InlineData("$.store.book[*].author", "\"Nigel Rees\"|\"Evelyn Waugh\"|\"Herman Melville\"|\"J. R. R. Tolkien\"")]
    [InlineData("$..author", "\"Nigel Rees\"|\"Evelyn Waugh\"|\"Herman Melville\"|\"J. R. R. Tolkien\"")]
    [InlineData("$.store..price", "8.95|12.99|8.99|22.99|399")]
    [InlineData("$..book[2].author", "\"Herman Melville\"")]
    [InlineData("$..book[-1].author", "\"J. R. R. Tolkien\"")]
    [InlineData("$..book[0,1].price", "8.95|12.99")]
    [InlineData("$..book[:2].price", "8.95|12.99")]
    [InlineData("$.store.book[1:3].price", "12.99|8.99")]
    [InlineData("$.store.book[::-1].price", "22.99|8.99|12.99|8.95")]
    [InlineData("$.store.book[5:1:-2].price", "22.99")]
    [InlineData("$.store.book[0:3:0].price", "")]
    [InlineData("$..book[2].isbn", "\"0-553-21311-3\"")]
    [InlineData("$.store.bicycle['color', \"price\"]", "\"red\"|399")]
    [InlineData("$.o['j j']['k.k']", "3")]
    [InlineData("$.o[\"a'b\"]", "1")]
    [InlineData("$.o['a\\'b']", "1")]
    [InlineData("$.store.bicycle.*", "\"red\"|399")]
    [InlineData("$.store.missing.price", "")]
    [InlineData("$.store.book[4]", "")]
    [InlineData("$ .store .bicycle [ 'color' ]", "\"red\"")]
    public void SelectsWhatRfc9535Selects(string query, string? expected)
    {
        using var document = JsonDocument.Parse(Document);
        Assert.True(JsonPathQuery.TryParse(query, out var parsed, out var problem), problem);
        var nodes = new List<JsonElement>();

        parsed.Select(document.RootElement, nodes);

        if (expected is null)
        {
            Assert.Equal(document.RootElement, Assert.Single(nodes));
            return;
        }

        Assert.Equal(expected, string.Join('|', nodes.Select(n => n.GetRawText())));
    }

    [Fact]
    public void DescendantWildcardVisitsEveryNodeInDocumentOrder()
    {
        using var document = JsonDocument.Parse("""{"a": [1, {"b": 2}], "c": 3}""");
        Assert.True(JsonPathQuery.TryParse("$..*", out var query, out _));
        var nodes = new List<JsonElement>();

        query.Select(document.RootElement, nodes);

        Assert.Equal("[1, {\"b\": 2}]|3|1|{\"b\": 2}|2", string.Join('|', nodes.Select(n => n.GetRawText())));
    }

    [Theory]
    [InlineData("", "a JSONPath query starts with '$'")]
    [InlineData("store.book", "a JSONPath query starts with '$'")]
    [InlineData("$.items[?(typeof(@.price) == 'number')].price", "filter selectors ([?...]) are not supported")]
    [InlineData("$.a[", "a '[' is not closed")]
    [InlineData("$.a['b]", "a string opened with ' is not closed")]
    [InlineData("$.", "a member name, '*' or '[' must follow '.'")]
    [InlineData("$a", "'a' cannot start a segment")]
    [InlineData("$[01]", "has a leading zero")]
    [InlineData("$[9007199254740992]", "is outside")]
    [InlineData("$[1 2]", "expected ',' or ']'")]
    [InlineData("$. store", "a member name, '*' or '[' must follow '.'")] // RFC 9535: no blank between '.' and the name
    public void ANonQueryIsRefusedWithWhatIsWrong(string query, string phrase)
    {
        Assert.False(JsonPathQuery.TryParse(query, out _, out var problem));

        Assert.Contains(phrase, problem, StringComparison.Ordinal);
    }
}
