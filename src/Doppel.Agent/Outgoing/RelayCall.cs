using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Doppel.Agent.Outgoing;

/// <summary>
/// What <see cref="TcpRelay"/> and <see cref="UdpRelay"/> share: the call's two streams and a
/// response writer that both directions may use at once (gRPC allows one write in flight, so
/// writes are serialized: the to-pod direction reports send errors while the to-session
/// direction writes data).
/// </summary>
internal abstract class RelayCall<TRequest, TResponse> : IDisposable
{
    private readonly IServerStreamWriter<TResponse> _responses;
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    protected RelayCall(IAsyncStreamReader<TRequest> requests, IServerStreamWriter<TResponse> responses, ILogger logger)
    {
        Requests = requests;
        _responses = responses;
        Logger = logger;
    }

    /// <summary>The session's messages.</summary>
    protected IAsyncStreamReader<TRequest> Requests { get; }

    protected ILogger Logger { get; }

    public void Dispose() => _writeLock.Dispose();

    /// <summary>
    /// The call's first message when <paramref name="isOpening"/> accepts it; otherwise the call
    /// fails with InvalidArgument and <paramref name="error"/>.
    /// </summary>
    protected async Task<TRequest> ReadOpeningAsync(Func<TRequest, bool> isOpening, string error, CancellationToken cancellationToken)
    {
        if (!await Requests.MoveNext(cancellationToken).ConfigureAwait(false) || !isOpening(Requests.Current))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, error));
        }

        return Requests.Current;
    }

    /// <summary>Writes one response, after any write already in flight.</summary>
    protected async Task WriteAsync(TResponse message, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _responses.WriteAsync(message, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }
}
