using Doppel.Protocol.Incoming;
using Doppel.Protocol.V1;

namespace Doppel.Protocol.Tests.Incoming;

/// <summary>How a subscription's filter reads in <c>doppel status</c>.</summary>
public sealed class HttpFilterTextTests
{
    [Fact]
    public void AHeaderFilterIsItsRegexAndTheOthersNameTheirKind()
    {
        Assert.Equal("^X-Dev-User: alice$", HttpFilterText.Format(new HttpFilter { Header = "^X-Dev-User: alice$" }));
        Assert.Equal("path ^/api", HttpFilterText.Format(new HttpFilter { Path = "^/api" }));
        Assert.Equal("method POST", HttpFilterText.Format(new HttpFilter { Method = "POST" }));
        Assert.Equal("json $.user ~ alice", HttpFilterText.Format(new HttpFilter { JsonBody = new HttpJsonBodyFilter { Query = "$.user", Matches = "alice" } }));
        Assert.Equal(string.Empty, HttpFilterText.Format(null));
    }

    [Fact]
    public void ListsJoinWithAndOrAndNestedListsGoInParentheses()
    {
        var filter = new HttpFilter
        {
            AllOf = new HttpFilterList
            {
                Filters =
                {
                    new HttpFilter { Header = "X-Dev-User: alice" },
                    new HttpFilter { AnyOf = new HttpFilterList { Filters = { new HttpFilter { Method = "GET" }, new HttpFilter { Method = "HEAD" } } } },
                },
            },
        };

        Assert.Equal("X-Dev-User: alice and (method GET or method HEAD)", HttpFilterText.Format(filter));
    }
}
