using Doppel.Testing;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Doppel.Protocol.Tests.EndToEnd;

/// <summary>
/// A real Kestrel gRPC server on a unix socket (HTTP/2 only, as the local agent listens) serving
/// the in-test services, and a Grpc.Net.Client channel to it through
/// <c>SocketsHttpHandler.ConnectCallback</c>, both with <see cref="Http2Tuning"/>'s settings.
/// </summary>
internal sealed class TestAgentServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _socketPath;

    private TestAgentServer(WebApplication app, string socketPath, GrpcChannel channel)
    {
        _app = app;
        _socketPath = socketPath;
        Channel = channel;
    }

    public GrpcChannel Channel { get; }

    public static async Task<TestAgentServer> StartAsync(CancellationToken cancellationToken)
    {
        var socketPath = Path.Combine(Path.GetTempPath(), $"doppel-protocol-{Guid.NewGuid():N}.sock");
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(options =>
        {
            options.Limits.Http2.InitialConnectionWindowSize = Http2Tuning.ConnectionWindowSize;
            options.Limits.Http2.InitialStreamWindowSize = Http2Tuning.StreamWindowSize;
            options.Limits.Http2.MaxStreamsPerConnection = Http2Tuning.MaxStreamsPerConnection;
            options.ListenUnixSocket(socketPath, listen => listen.Protocols = HttpProtocols.Http2);
        });
        builder.Services.AddGrpc();

        var app = builder.Build();
        app.MapGrpcService<EchoAgentService>();
        app.MapGrpcService<EchoOutgoingService>();
        app.MapGrpcService<InMemoryFileService>();
        await app.StartAsync(cancellationToken);

        var handler = new SocketsHttpHandler
        {
            ConnectCallback = UnixSocketConnect.To(socketPath),
            InitialHttp2StreamWindowSize = Http2Tuning.StreamWindowSize,
            EnableMultipleHttp2Connections = true,
        };
        var channel = GrpcChannel.ForAddress("http://agent", new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
        return new TestAgentServer(app, socketPath, channel);
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        File.Delete(_socketPath);
    }
}
