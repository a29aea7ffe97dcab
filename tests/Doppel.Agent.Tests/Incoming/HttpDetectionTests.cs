using System.Buffers;
using System.Text;
using Doppel.Agent.Incoming;

namespace Doppel.Agent.Tests.Incoming;

/// <summary>What the front decides from a redirected connection's first bytes.</summary>
public sealed class HttpDetectionTests
{
    [Theory]
    [InlineData("GET / HTTP/1.1\r\n", "Http1")]
    [InlineData("POST /api?x=1 HTTP/1.0\r\nHost: a\r\n", "Http1")]
    [InlineData("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "Http2")]
    [InlineData("PRI * HTTP/2.0\r\n", "NeedMore")]
    [InlineData("GET / HT", "NeedMore")]
    [InlineData("GET", "NeedMore")]
    [InlineData("", "NeedMore")]
    [InlineData("SSH-2.0-OpenSSH_9.2\r\n", "NotHttp")]
    [InlineData("\u0016\u0003\u0001", "NotHttp")]
    [InlineData("get / HTTP/1.1\r\n", "NotHttp")]
    [InlineData("GET / HTTP/3\r\n", "NotHttp")]
    public void TheFirstBytesDecideTheProtocol(string bytes, string expected)
    {
        var detected = IncomingFront.Detect(new ReadOnlySequence<byte>(Encoding.Latin1.GetBytes(bytes)));

        Assert.Equal(expected, detected.ToString());
    }
}
