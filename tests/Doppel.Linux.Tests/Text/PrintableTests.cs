using Doppel.Linux.Text;

namespace Doppel.Linux.Tests.Text;

public sealed class PrintableTests
{
    [Theory]
    [InlineData("/app/out.txt", "/app/out.txt")]
    [InlineData("/app/x\nerror: forged", @"/app/x\nerror: forged")]
    [InlineData("/app/\u001b[2Kx", @"/app/\x1b[2Kx")]
    [InlineData("/app/a\tb\rc", @"/app/a\tb\rc")]
    [InlineData("/app/back\\slash", @"/app/back\\slash")]
    [InlineData("/app/\u0085\u2028é", @"/app/\u0085\u2028é")]
    public void ControlCharactersBecomeCStyleEscapesAndTheRestIsKept(string name, string shown)
    {
        Assert.Equal(shown, Printable.Escape(name));
    }
}
