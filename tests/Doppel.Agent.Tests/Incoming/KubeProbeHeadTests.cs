using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Doppel.Agent.Incoming;

namespace Doppel.Agent.Tests.Incoming;

/// <summary>How a whole-port steal of a probed port tells the kubelet's probes from other connections.</summary>
public sealed class KubeProbeHeadTests
{
    private const string Probe = "GET /healthz HTTP/1.1\r\nHost: 10.0.0.5:8080\r\nUser-Agent: kube-probe/1.31\r\nAccept: */*\r\nConnection: close\r\n\r\n";

    [Theory]
    [InlineData(Probe, "KubeProbe")]
    [InlineData("GET /ready HTTP/1.0\nuser-agent:KUBE-PROBE/1.20\n\n", "KubeProbe")]
    [InlineData("GET /healthz HTTP/1.1\r\nHost: a\r\nUser-Agent: kube-probe/1.31\r\n", "NeedMore")]
    [InlineData("GET /healthz HTTP/1.1\r\nUser-Agent: kube-pro", "NeedMore")]
    [InlineData("GET /hea", "NeedMore")]
    [InlineData("", "NeedMore")]
    [InlineData("GET /healthz HTTP/1.1\r\nHost: a\r\nUser-Agent: curl/8.5.0\r\n\r\n", "Other")]
    [InlineData("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n", "Other")]
    [InlineData("GET /healthz HTTP/1.1\r\nX-Agent: kube-probe/1.31\r\n\r\n", "Other")]
    [InlineData("GET /healthz HTTP/1.1\r\nUser-Agent: my-kube-probe/1\r\n\r\n", "Other")]
    [InlineData("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "Other")]
    [InlineData("SSH-2.0-OpenSSH_9.2\r\n", "Other")]
    [InlineData("\u0016\u0003\u0001\u0002\u0000", "Other")]
    public void TheHeadDecides(string bytes, string expected)
    {
        Assert.Equal(expected, KubeProbeHead.Classify(new ReadOnlySequence<byte>(Encoding.Latin1.GetBytes(bytes))).ToString());
    }

    [Fact]
    public void AHeadThatDoesNotEndWithinEightKibIsNoProbe()
    {
        var head = "GET / HTTP/1.1\r\nUser-Agent: kube-probe/1.31\r\nX-Padding: " + new string('a', KubeProbeHead.MaxHeadBytes);

        Assert.Equal(KubeProbeHead.Verdict.Other, KubeProbeHead.Classify(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(head))));
    }

    [Fact]
    public async Task AHeadSplitAcrossWritesIsReadToItsEndAndLeftUnconsumed()
    {
        var pipe = new Pipe();
        var bytes = Encoding.ASCII.GetBytes(Probe);
        var verdict = KubeProbeHead.ReadAheadAsync(pipe.Reader, CancellationToken.None);
        foreach (var (start, end) in new[] { (0, 5), (5, 40), (40, bytes.Length) })
        {
            await pipe.Writer.WriteAsync(bytes.AsMemory(start..end));
            await Task.Delay(50);
        }

        Assert.True(await verdict.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(pipe.Reader.TryRead(out var result));
        Assert.Equal(Probe, Encoding.ASCII.GetString(result.Buffer.ToArray()));
    }

    [Fact]
    public async Task NonHttpBytesAreDecidedAtOnceAndLeftUnconsumed()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync("\u0016\u0003\u0001hello"u8.ToArray());

        Assert.False(await KubeProbeHead.ReadAheadAsync(pipe.Reader, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(1)));
        Assert.True(pipe.Reader.TryRead(out var result));
        Assert.Equal(8, result.Buffer.Length);
    }

    /// <summary>
    /// A head that stops coming is stolen after <see cref="KubeProbeHead.ReadAheadTimeout"/>; its
    /// first bytes were examined, so the session's reader gets them with the next ones (or at
    /// the client's half-close), none lost — as after the filtered ports' HTTP detection.
    /// </summary>
    [Fact]
    public async Task AHeadThatStopsComingIsNoProbeAfterTheTimeoutAndItsBytesComeWithTheNextOnes()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync("GET / HTTP/1.1\r\n"u8.ToArray());
        var started = System.Diagnostics.Stopwatch.StartNew();

        Assert.False(await KubeProbeHead.ReadAheadAsync(pipe.Reader, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
        var waited = started.Elapsed;
        var next = pipe.Reader.ReadAsync().AsTask();
        await pipe.Writer.WriteAsync("Host: a\r\n\r\n"u8.ToArray());
        var result = await next.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.InRange(waited, KubeProbeHead.ReadAheadTimeout - TimeSpan.FromMilliseconds(100), KubeProbeHead.ReadAheadTimeout + TimeSpan.FromSeconds(3));
        Assert.Equal("GET / HTTP/1.1\r\nHost: a\r\n\r\n", Encoding.ASCII.GetString(result.Buffer.ToArray()));
    }
}
