using System.Collections.Concurrent;
using Doppel.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Doppel.Protocol.Tests.EndToEnd;

/// <summary>WriteFile (client stream) and ReadFile (server stream) over an in-memory file table.</summary>
internal sealed class InMemoryFileService : FileService.FileServiceBase
{
    public const int Enoent = 2;

    private static readonly ConcurrentDictionary<string, byte[]> s_files = new(StringComparer.Ordinal);

    public override async Task<WriteFileResponse> WriteFile(IAsyncStreamReader<WriteFileRequest> requestStream, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        if (!await requestStream.MoveNext(ct) || requestStream.Current.PartCase != WriteFileRequest.PartOneofCase.Open)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "The first message of WriteFile must be open."));
        }

        var open = requestStream.Current.Open;
        using var content = new MemoryStream();
        while (await requestStream.MoveNext(ct))
        {
            content.Write(requestStream.Current.Data.Span);
        }

        s_files[open.Path] = content.ToArray();
        return new WriteFileResponse
        {
            BytesWritten = (ulong)content.Length,
            Stat = new FileStat { Name = Path.GetFileName(open.Path), Mode = FileStat.TypeRegular | open.Mode, Size = (ulong)content.Length },
        };
    }

    public override async Task ReadFile(ReadFileRequest request, IServerStreamWriter<ReadFileResponse> responseStream, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        if (!s_files.TryGetValue(request.Path, out var content))
        {
            await responseStream.WriteAsync(new ReadFileResponse { Error = new PosixError { Errno = Enoent, Message = "No such file or directory" } }, ct);
            return;
        }

        var stat = new FileStat { Name = Path.GetFileName(request.Path), Mode = FileStat.TypeRegular | 0x1A4, Size = (ulong)content.Length };
        var offset = (int)Math.Min(request.Offset, (ulong)content.Length);
        var end = request.Length == 0 ? content.Length : (int)Math.Min((ulong)content.Length, request.Offset + request.Length);
        var first = true;
        do
        {
            var count = Math.Min(Relay.ChunkSize, end - offset);
            // The array is never written again, so wrapping it is within the ownership rule.
            var chunk = new ReadFileResponse { Data = Relay.Wrap(content.AsMemory(offset, count)) };
            if (first)
            {
                chunk.Stat = stat;
                first = false;
            }

            await responseStream.WriteAsync(chunk, ct);
            offset += count;
        }
        while (offset < end);
    }
}
