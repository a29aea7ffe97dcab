using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Doppel.Agent.Incoming;
using Microsoft.Extensions.Time.Testing;

namespace Doppel.Agent.Tests.Incoming.Filters;

public sealed class RequestBodyTests
{
    private static readonly byte[] s_json = Encoding.UTF8.GetBytes("""{"user": "alice"}""");

    [Fact]
    public async Task ACompleteBodyIsReadAheadAndLeftUnreadForTheForwarder()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(s_json);
        await pipe.Writer.CompleteAsync();

        using var body = await RequestBody.BufferAsync(pipe.Reader, s_json.Length, TimeProvider.System, CancellationToken.None);

        Assert.Equal(BodyBufferOutcome.Complete, body.Outcome);
        Assert.True(body.TryGetJson(out var root));
        Assert.Equal("alice", root.GetProperty("user").GetString());
        Assert.Equal(s_json, await ReadAllAsync(pipe.Reader));
    }

    [Fact]
    public async Task ABodyArrivingInPiecesIsReadUntilItEnds()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(s_json.AsMemory(0, 5));

        var reading = RequestBody.BufferAsync(pipe.Reader, null, TimeProvider.System, CancellationToken.None).AsTask();
        await pipe.Writer.WriteAsync(s_json.AsMemory(5));
        await pipe.Writer.CompleteAsync();
        using var body = await reading;

        Assert.Equal(s_json, body.Bytes.ToArray());
        Assert.Equal(s_json, await ReadAllAsync(pipe.Reader));
    }

    [Fact]
    public async Task AContentLengthOverTheLimitIsRefusedWithoutReading()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(s_json);

        using var body = await RequestBody.BufferAsync(pipe.Reader, RequestBody.DefaultLimit + 1, TimeProvider.System, CancellationToken.None);

        Assert.Equal(BodyBufferOutcome.TooLarge, body.Outcome);
        Assert.True(pipe.Reader.TryRead(out var unread));
        Assert.Equal(s_json.Length, unread.Buffer.Length);
    }

    [Fact]
    public async Task AChunkedBodyOverSixtyFourKibIsTooLargeAndStaysWhole()
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var large = new byte[RequestBody.DefaultLimit + 1];
        Array.Fill(large, (byte)'a');
        await pipe.Writer.WriteAsync(large);

        using var body = await RequestBody.BufferAsync(pipe.Reader, null, TimeProvider.System, CancellationToken.None);
        await pipe.Writer.CompleteAsync();

        Assert.Equal(BodyBufferOutcome.TooLarge, body.Outcome);
        Assert.False(body.TryGetJson(out _));
        Assert.Equal(large.Length, (await ReadAllAsync(pipe.Reader)).Length);
    }

    [Fact]
    public async Task ABodyOfExactlySixtyFourKibIsComplete()
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        await pipe.Writer.WriteAsync(new byte[RequestBody.DefaultLimit]);
        await pipe.Writer.CompleteAsync();

        using var body = await RequestBody.BufferAsync(pipe.Reader, null, TimeProvider.System, CancellationToken.None);

        Assert.Equal(BodyBufferOutcome.Complete, body.Outcome);
    }

    [Fact]
    public async Task ABodyThatDoesNotEndWithinTheTimeLimitTimesOutAndTheReaderStaysUsable()
    {
        var time = new FakeTimeProvider();
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(s_json.AsMemory(0, 5));

        var reading = RequestBody.BufferAsync(pipe.Reader, null, time, CancellationToken.None).AsTask();
        time.Advance(RequestBody.DefaultTimeout);
        using var body = await reading;
        await pipe.Writer.WriteAsync(s_json.AsMemory(5));
        await pipe.Writer.CompleteAsync();

        Assert.Equal(BodyBufferOutcome.TimedOut, body.Outcome);
        Assert.Equal(s_json, await ReadAllAsync(pipe.Reader));
    }

    [Fact]
    public async Task AnAbortedRequestCancelsTheRead()
    {
        var pipe = new Pipe();
        using var aborted = new CancellationTokenSource();

        var reading = RequestBody.BufferAsync(pipe.Reader, null, TimeProvider.System, aborted.Token).AsTask();
        await aborted.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reading);
    }

    private static async Task<byte[]> ReadAllAsync(PipeReader reader)
    {
        while (true)
        {
            var result = await reader.ReadAsync();
            if (result.IsCompleted)
            {
                var all = result.Buffer.ToArray();
                reader.AdvanceTo(result.Buffer.End);
                return all;
            }

            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }
}
