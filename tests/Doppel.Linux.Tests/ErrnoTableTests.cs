using Doppel.Linux.Native;
using Doppel.Linux.Tests.Support;

namespace Doppel.Linux.Tests;

/// <summary><see cref="Errno"/>, the one errno table, against &lt;errno.h&gt;.</summary>
public sealed class ErrnoTableTests
{
    [Fact]
    public void Every_errno_has_the_value_of_errno_h()
    {
        var headers = KernelHeaders.NumericMacros("errno.h");
        var ours = KernelHeaders.Constants(typeof(Errno));

        Assert.NotEmpty(ours);
        var wrong = ours
            .Where(c => !headers.TryGetValue(c.Key, out var value) || value != c.Value)
            .Select(c => $"{c.Key} = {c.Value}, errno.h: {(headers.TryGetValue(c.Key, out var v) ? v : "none")}");
        Assert.Empty(wrong);
    }

    [Fact]
    public void No_two_names_share_a_value()
    {
        var ours = KernelHeaders.Constants(typeof(Errno));

        Assert.Empty(ours.GroupBy(c => c.Value).Where(g => g.Count() > 1).Select(g => string.Join(" = ", g.Select(c => c.Key))));
    }
}
