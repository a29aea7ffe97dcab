using System.Buffers;
using System.IO.Pipelines;
using System.Text;

namespace Doppel.Agent.Incoming;

/// <summary>
/// Tells the kubelet's HTTP probes from other connections on a port stolen whole, so that the
/// pod's app keeps answering its own liveness, readiness and startup probes while a developer
/// steals the port (issue P8; filtered steals leave probes to the app by the filter's probe rule,
/// HttpFilterMatcher). Only ports the kubelet probes over HTTP (<c>--http-probe-ports</c>) are read
/// ahead; other ports keep their zero-delay hand-over.
/// <code>
///   new connection on a probed port, stolen whole
///     ──read ahead (examined, not consumed; ≤ 8 KiB, ≤ 2 s, until the head's empty line)──►
///        HTTP/1.x head with User-Agent: kube-probe/… ──► TCP pass-through to the app
///        anything else (other agent, HTTP/2, not HTTP, too long, silent, closed) ──► the session (bytes replayed)
/// </code>
/// The kubelet's prober (k8s.io/kubernetes pkg/probe/http) speaks HTTP/1.1 over a new connection
/// per probe, with <c>User-Agent: kube-probe/MAJOR.MINOR</c> unless the probe's httpHeaders set
/// another User-Agent.
/// </summary>
internal static class KubeProbeHead
{
    /// <summary>The most bytes read ahead: a head that does not end within them is no probe.</summary>
    public const int MaxHeadBytes = 8192;

    /// <summary>How long a new connection may take to send its head before it is stolen as it is.</summary>
    public static readonly TimeSpan ReadAheadTimeout = TimeSpan.FromSeconds(2);

    /// <summary>What a connection's first bytes say.</summary>
    internal enum Verdict
    {
        /// <summary>An HTTP/1.x request head that has not ended yet.</summary>
        NeedMore,

        /// <summary>A complete HTTP/1.x request head with a kube-probe User-Agent.</summary>
        KubeProbe,

        /// <summary>Anything else.</summary>
        Other,
    }

    /// <summary>True for the kubelet's User-Agent value, <c>kube-probe/…</c> (case-insensitive, as the filters' probe rule).</summary>
    public static bool IsKubeProbeUserAgent(string value)
        => value.AsSpan().TrimStart(" \t").StartsWith("kube-probe/", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Classifies a connection's first bytes: an HTTP/1.x request line (IncomingFront.Detect), then
    /// header lines up to the empty line that ends the head (CRLF, or a bare LF as RFC 9112 §2.2
    /// lets a recipient accept); a <c>User-Agent</c> header (any of them) starting with
    /// <c>kube-probe/</c> makes it a probe. Pure; tests pin it.
    /// </summary>
    public static Verdict Classify(ReadOnlySequence<byte> bytes)
    {
        var detected = IncomingFront.Detect(bytes);
        if (detected is IncomingFront.Detected.Http2 or IncomingFront.Detected.NotHttp)
        {
            return Verdict.Other;
        }

        var length = (int)Math.Min(bytes.Length, MaxHeadBytes);
        var span = bytes.Slice(0, length).ToArray().AsSpan();
        var probe = false;
        var first = true;
        while (true)
        {
            var newline = span.IndexOf((byte)'\n');
            if (newline < 0)
            {
                return bytes.Length >= MaxHeadBytes ? Verdict.Other : Verdict.NeedMore;
            }

            var line = span[..newline];
            if (!line.IsEmpty && line[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            span = span[(newline + 1)..];
            if (first)
            {
                first = false; // the request line, checked by Detect
                continue;
            }

            if (line.IsEmpty)
            {
                return probe ? Verdict.KubeProbe : Verdict.Other;
            }

            var colon = line.IndexOf((byte)':');
            if (colon > 0 && Ascii.EqualsIgnoreCase(line[..colon], "User-Agent"u8))
            {
                probe |= IsKubeProbeUserAgent(Encoding.Latin1.GetString(line[(colon + 1)..]));
            }
        }
    }

    /// <summary>
    /// Reads the start of <paramref name="input"/> until <see cref="Classify"/> decides, the input
    /// ends or <see cref="ReadAheadTimeout"/> passes; true for a kubelet probe. Nothing is consumed:
    /// whoever reads the input next (the pass-through or the session's TcpWork) gets every byte.
    /// </summary>
    public static async Task<bool> ReadAheadAsync(PipeReader input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(ReadAheadTimeout);
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(deadline.Token).ConfigureAwait(false);
                var verdict = Classify(result.Buffer);
                input.AdvanceTo(result.Buffer.Start, verdict == Verdict.NeedMore ? result.Buffer.End : result.Buffer.Start);
                if (verdict != Verdict.NeedMore)
                {
                    return verdict == Verdict.KubeProbe;
                }

                if (result.IsCompleted || result.IsCanceled)
                {
                    return false;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
