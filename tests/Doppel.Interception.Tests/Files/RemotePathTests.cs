using Doppel.Interception.Files;

namespace Doppel.Interception.Tests.Files;

public sealed class RemotePathTests
{
    [Theory]
    [InlineData("/a/b", "/a/b")]
    [InlineData("/a//b/", "/a/b")]
    [InlineData("/a/./b/../c", "/a/c")]
    [InlineData("/../..", "/")]
    [InlineData("/", "/")]
    [InlineData("/a/b/..", "/a")]
    [InlineData("/a/.hidden", "/a/.hidden")]
    public void NormalizeCollapsesDotsAndSlashes(string path, string expected)
        => Assert.Equal(expected, RemotePath.Normalize(path));

    [Theory]
    [InlineData("/srv", "x/../y", "/srv/y")]
    [InlineData("/", "etc", "/etc")]
    [InlineData("/srv/", "a", "/srv/a")]
    public void CombineResolvesRelativePaths(string directory, string relative, string expected)
        => Assert.Equal(expected, RemotePath.Combine(directory, relative));
}
