using System.Net;
using System.Text;
using Doppel.Protocol.V1;
using Doppel.Session.Incoming;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;

namespace Doppel.Session.Tests.Incoming;

/// <summary>
/// HTTP/1.x requests to a local app that speaks only h2c (Kestrel with <c>Protocols = Http2</c>
/// on cleartext, as a gRPC server is): replayed over HTTP/2 with prior knowledge; what cannot
/// be converted gets one sentence for the client's 502 and one warning line for the user.
/// </summary>
public sealed partial class ServeWorkTests
{
    private ServeWork Work(IPEndPoint app, LocalAppProtocols protocols) => new(_client, _ => app, _counts, NullLogger.Instance, protocols: protocols);

    private static HttpRequestHead Whole(HttpRequestHead head, string body = "")
    {
        head.Body = ByteString.CopyFromUtf8(body);
        head.End = new HttpMessageEnd();
        return head;
    }

    private static async Task<(ServeClientMessage Head, string Body)> AnswerAsync(ServeLine line)
    {
        var head = await line.NextAsync(Timeout);
        Assert.True(head.MessageCase == ServeClientMessage.MessageOneofCase.ResponseHead, head.ToString());
        return (head, Encoding.UTF8.GetString((await line.ReadBodyAsync(Timeout)).Body));
    }

    [Fact]
    public async Task AnHttp11GetToAnH2cOnlyAppIsReplayedOverHttp2AndLaterOnesGoThereAtOnce()
    {
        var protocols = new LocalAppProtocols();
        var work = Work(_h2c, protocols);

        var firstLine = new ServeLine();
        var firstMore = await work.ServeHttpAsync(Whole(Head("GET", "/who", "HTTP/1.1", ("Host", "web.example:80"))), firstLine.Reader, firstLine.Writer, Timeout);
        var (firstHead, firstBody) = await AnswerAsync(firstLine);
        var knownAfterFirst = protocols.Versions.H2cOnly(_h2c);
        var secondLine = new ServeLine();
        var secondMore = await work.ServeHttpAsync(Whole(Head("GET", "/who", "HTTP/1.1", ("Host", "web.example:80"))), secondLine.Reader, secondLine.Writer, Timeout);
        var (secondHead, secondBody) = await AnswerAsync(secondLine);

        Assert.Equal(200u, firstHead.ResponseHead.Status);
        Assert.StartsWith("host=web.example:80;xff=10.1.2.3;", firstBody, StringComparison.Ordinal);
        Assert.Contains(";proto=HTTP/2;", firstBody, StringComparison.Ordinal);
        Assert.True(knownAfterFirst);
        Assert.Equal(200u, secondHead.ResponseHead.Status);
        Assert.Contains(";proto=HTTP/2;", secondBody, StringComparison.Ordinal);
        Assert.True(firstMore && secondMore);
        Assert.Equal(0, _counts.FailedCount);
    }

    [Fact]
    public async Task AnHttp11RequestToAnH2cServerThatAnswersWithFramesIsReplayedOverHttp2()
    {
        await using var node = await NodeH2cApp.StartAsync(Timeout);
        var protocols = new LocalAppProtocols();
        var work = Work(node.EndPoint, protocols);

        var postLine = new ServeLine();
        var postMore = await work.ServeHttpAsync(Whole(Head("POST", "/orders", "HTTP/1.1", ("Content-Length", "10")), "two apples"), postLine.Reader, postLine.Writer, Timeout);
        var (postHead, postBody) = await AnswerAsync(postLine);
        var getLine = new ServeLine();
        var getMore = await work.ServeHttpAsync(Whole(Head("GET", "/orders/1", "HTTP/1.0")), getLine.Reader, getLine.Writer, Timeout);
        var (_, getBody) = await AnswerAsync(getLine);

        Assert.Equal(200u, postHead.ResponseHead.Status);
        Assert.Equal("node h2c 2.0 POST /orders host=web.example:80 body=two apples\n", postBody);
        Assert.Equal("node h2c 2.0 GET /orders/1 host=web.example:80 body=\n", getBody);
        Assert.True(protocols.Versions.H2cOnly(node.EndPoint));
        Assert.True(postMore && getMore);
        Assert.Equal(0, _counts.FailedCount);
    }

    [Fact]
    public async Task AWholeHttp11PostToAnH2cOnlyAppKeepsItsBody()
    {
        var line = new ServeLine();

        var more = await Work(_h2c, new LocalAppProtocols()).ServeHttpAsync(Whole(Head("POST", "/echo", "HTTP/1.1", ("Content-Length", "10")), "two apples"), line.Reader, line.Writer, Timeout);

        var (head, body) = await AnswerAsync(line);
        Assert.Equal(200u, head.ResponseHead.Status);
        Assert.Equal("two apples", body);
        Assert.True(more);
    }

    [Fact]
    public async Task WhatCannotBeConvertedForAnH2cOnlyAppGetsOneSentenceEachAndTheUserOneWarning()
    {
        var warnings = new List<string>();
        var protocols = new LocalAppProtocols(line => { lock (warnings) { warnings.Add(line); } });
        var work = Work(_h2c, protocols);

        // A body that streams (not whole in its head): it goes over HTTP/1.1 before the app's refusal comes back.
        var postLine = new ServeLine();
        await postLine.SendAsync(Data("first "));
        await postLine.SendAsync(Data("second"));
        await postLine.SendAsync(End());
        var postMore = await work.ServeHttpAsync(Head("POST", "/echo", "HTTP/1.1", ("Content-Length", "12")), postLine.Reader, postLine.Writer, Timeout);
        var postError = await postLine.NextAsync(Timeout);
        // An upgrade, which HTTP/2 cannot carry.
        var upgradeLine = new ServeLine();
        var upgradeMore = await work.ServeHttpAsync(Whole(Head("GET", "/upgrade", "HTTP/1.1", ("Connection", "Upgrade"), ("Upgrade", "echo"))), upgradeLine.Reader, upgradeLine.Writer, Timeout);
        var upgradeError = await upgradeLine.NextAsync(Timeout);
        // A streamed body now that the app is known: over HTTP/2 from its first byte.
        var laterLine = new ServeLine();
        var later = work.ServeHttpAsync(Head("POST", "/echo", "HTTP/1.1", ("Content-Length", "12")), laterLine.Reader, laterLine.Writer, Timeout);
        await laterLine.SendAsync(Data("first "));
        await laterLine.SendAsync(Data("second"));
        await laterLine.SendAsync(End());
        var (laterHead, laterBody) = await AnswerAsync(laterLine);

        Assert.False(postMore);
        Assert.Equal(71, postError.Error.Errno);
        Assert.Equal($"the local app at {_h2c} speaks only HTTP/2 (h2c) and the request could not be converted: its body was already on its way to the app over HTTP/1.1 (later HTTP/1.1 requests reach it over HTTP/2)", postError.Error.Message);
        Assert.False(upgradeMore);
        Assert.Equal($"the local app at {_h2c} speaks only HTTP/2 (h2c) and the request could not be converted: HTTP/2 cannot carry an HTTP/1.1 upgrade (Upgrade: echo)", upgradeError.Error.Message);
        Assert.Equal(200u, laterHead.ResponseHead.Status);
        Assert.Equal("first second", laterBody);
        Assert.True(await later);
        var warning = Assert.Single(warnings);
        Assert.StartsWith($"the local app at {_h2c} speaks only HTTP/2 over cleartext (h2c);", warning, StringComparison.Ordinal);
        Assert.Equal(2, _counts.FailedCount);
    }

    [Fact]
    public async Task AnHttp11RequestThatAnHttp11AppBreaksOffIsNotTriedAgainOverHttp2()
    {
        var protocols = new LocalAppProtocols();
        var line = new ServeLine();

        var more = await Work(_http1, protocols).ServeHttpAsync(Whole(Head("GET", "/abort", "HTTP/1.1")), line.Reader, line.Writer, Timeout);

        var error = await line.NextAsync(Timeout);
        Assert.False(more);
        Assert.True(error.MessageCase == ServeClientMessage.MessageOneofCase.Error, error.ToString());
        Assert.StartsWith($"the local app at {_http1} did not answer: ", error.Error.Message, StringComparison.Ordinal);
        Assert.Equal(1, Volatile.Read(ref _aborted));
        Assert.Null(protocols.Versions.VersionFor(_http1, http2: false));
    }
}
