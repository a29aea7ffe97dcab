using Doppel.Protocol;
using Doppel.Protocol.V1;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Configuration;

namespace Doppel.Session.Agent;

/// <summary>
/// A session's link to one agent: one HTTP/2 connection for control calls (hello, env, files,
/// DNS) and separate ones for relayed bytes (outgoing TCP/UDP streams, <see cref="RelayLanes"/>),
/// so a small call never waits behind a bulk transfer (LINUX-NOTES.md, "gRPC"). When the transport drops, calls in flight fail
/// with <see cref="RpcException"/> and the next call connects again: the app keeps running.
/// </summary>
public sealed class AgentConnection : IDisposable
{
    /// <summary>How long establishing a connection to the agent may take before a call fails.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan s_endingWait = TimeSpan.FromSeconds(1);

    private readonly GrpcChannel _control;

    private AgentConnection(string address, string sessionId, HelloResponse hello, GrpcChannel control, RelayLanes relay)
    {
        Address = address;
        SessionId = sessionId;
        Hello = hello;
        _control = control;
        Relay = relay;
        Files = new FileService.FileServiceClient(control);
        Environment = new EnvironmentService.EnvironmentServiceClient(control);
        Hostname = new HostnameService.HostnameServiceClient(control);
        Dns = new DnsService.DnsServiceClient(control);
        Agent = new AgentService.AgentServiceClient(control);
        Incoming = new IncomingService.IncomingServiceClient(control);
    }

    /// <summary>Where the agent is, for messages (<c>unix:/…/agent.sock</c>, a port-forward, …).</summary>
    public string Address { get; }

    /// <summary>The session's id, sent with every call as <c>doppel-session-id</c> (agent.proto, "Sessions").</summary>
    public string SessionId { get; }

    /// <summary>The agent's answer to the session's hello: version, target, features.</summary>
    public HelloResponse Hello { get; }

    public AgentService.AgentServiceClient Agent { get; }

    public FileService.FileServiceClient Files { get; }

    public EnvironmentService.EnvironmentServiceClient Environment { get; }

    public HostnameService.HostnameServiceClient Hostname { get; }

    public DnsService.DnsServiceClient Dns { get; }

    /// <summary>IncomingService on the control connection, for the Subscribe call (Serve calls take relay lanes).</summary>
    public IncomingService.IncomingServiceClient Incoming { get; }

    /// <summary>The relay connections (OutgoingService).</summary>
    public RelayLanes Relay { get; }

    /// <summary>Connects to the agent that <paramref name="transport"/> reaches; see the other overload.</summary>
    public static Task<AgentConnection> ConnectAsync(IAgentTransport transport, string sessionName, string clientVersion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transport);
        return ConnectAsync(transport.Address, transport.ConnectAsync, sessionName, clientVersion, cancellationToken, transport.Token is null ? null : () => transport.Token);
    }

    /// <summary>
    /// Connects to the agent and negotiates the protocol version. <paramref name="connect"/>
    /// opens one byte stream to the agent (a unix socket, a TCP connection, a Kubernetes
    /// port-forward): it is called for every HTTP/2 connection, first and again after a drop.
    /// Throws <see cref="AgentConnectionException"/> with a sentence for the user when the agent
    /// cannot be reached or speaks no common version. <paramref name="token"/> (a cluster agent's,
    /// <see cref="IAgentTransport.Token"/>, asked at every call: an agent placed anew has another)
    /// goes with every call, streams included, as metadata <c>doppel-agent-token</c>; null sends none.
    /// </summary>
    public static async Task<AgentConnection> ConnectAsync(
        string address,
        Func<CancellationToken, ValueTask<Stream>> connect,
        string sessionName,
        string clientVersion,
        CancellationToken cancellationToken,
        Func<string?>? token = null)
    {
        ArgumentNullException.ThrowIfNull(connect);
        var sessionId = SessionMetadata.NewId();
        var request = new HelloRequest
        {
            MinVersion = ProtocolVersion.MinimumSupported,
            MaxVersion = ProtocolVersion.Current,
            ClientVersion = clientVersion,
            SessionName = sessionName,
            User = UserName(),
            Machine = System.Environment.MachineName,
            Pid = System.Environment.ProcessId,
        };
        var who = new SessionHeaders(sessionId, SessionMetadata.EncodeHello(request));
        var control = Channel(connect, who, token);
        var relay = new RelayLanes(() => Channel(connect, who, token));
        try
        {
            var agent = new AgentService.AgentServiceClient(control);
            var hello = await agent.HelloAsync(
                request,
                deadline: DateTime.UtcNow + ConnectTimeout + ConnectTimeout,
                cancellationToken: cancellationToken).ConfigureAwait(false);
            return new AgentConnection(address, sessionId, hello, control, relay);
        }
        catch (RpcException e)
        {
            control.Dispose();
            relay.Dispose();
            var reason = e.StatusCode == StatusCode.FailedPrecondition ? e.Status.Detail : $"{e.Status.StatusCode}: {e.Status.Detail}";
            throw new AgentConnectionException($"cannot talk to the agent at {address}: {reason}", e);
        }
        catch
        {
            control.Dispose();
            relay.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Tells the agent that this session ends (its last call: a Ping with <c>ending</c>, agent.proto),
    /// so that the agent exits <c>agent.ttl</c> after its last session instead of waiting for this one
    /// to reconnect. Waits at most 1 s; an agent that cannot be reached is not waited for, and no
    /// failure is thrown (the agent then waits its reconnect grace, 20 s, and exits).
    /// </summary>
    public async Task SayEndingAsync()
    {
        try
        {
            await Agent.PingAsync(new PingRequest { Ending = true }, deadline: DateTime.UtcNow + s_endingWait).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException or ObjectDisposedException)
        {
            // Gone or unreachable: nothing to tell.
        }
    }

    public void Dispose()
    {
        _control.Dispose();
        Relay.Dispose();
    }

    /// <summary>
    /// A channel to the agent <paramref name="transport"/> reaches for calls outside any session
    /// (no Hello and no session id: the caller is not one of the agent's sessions), with the
    /// transport's token: <c>AgentService.Status</c> asked by <c>doppel status</c> and by a session
    /// that is leaving a shared agent.
    /// </summary>
    public static GrpcChannel OpenChannel(IAgentTransport transport)
    {
        ArgumentNullException.ThrowIfNull(transport);
        return Channel(transport.ConnectAsync, session: null, transport.Token is null ? null : () => transport.Token);
    }

    /// <summary>The metadata key a cluster agent's token travels in (Doppel.Kubernetes.Agents.AgentSharing.TokenMetadataKey).</summary>
    internal const string TokenMetadataKey = "doppel-agent-token";

    /// <summary>Who runs doppel, for other sessions and <c>doppel status</c>: $USER, else $LOGNAME, else the uid's name.</summary>
    public static string UserName() =>
        System.Environment.GetEnvironmentVariable("USER") is { Length: > 0 } user ? user
        : System.Environment.GetEnvironmentVariable("LOGNAME") is { Length: > 0 } logname ? logname
        : System.Environment.UserName;

    /// <summary>
    /// A channel whose every call opens streams through <paramref name="connect"/>;
    /// <paramref name="sessionId"/> (null: none, e.g. <c>doppel status</c>) and the token
    /// <paramref name="token"/> gives at the call (null: none) go with every call.
    /// </summary>
    private static GrpcChannel Channel(Func<CancellationToken, ValueTask<Stream>> connect, SessionHeaders? session, Func<string?>? token)
    {
        var retryable = new RetryPolicy
        {
            MaxAttempts = 5,
            InitialBackoff = TimeSpan.FromMilliseconds(200),
            MaxBackoff = TimeSpan.FromSeconds(1),
            BackoffMultiplier = 2,
            RetryableStatusCodes = { StatusCode.Unavailable },
        };
        if (token is not null)
        {
            retryable.RetryableStatusCodes.Add(StatusCode.Unauthenticated);
        }

        var handler = new SocketsHttpHandler
        {
            InitialHttp2StreamWindowSize = Http2Tuning.StreamWindowSize,
            ConnectTimeout = ConnectTimeout,

            // A peer that vanished without closing (a dead port-forward) is noticed by pings.
            KeepAlivePingDelay = TimeSpan.FromSeconds(15),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            EnableMultipleHttp2Connections = true,

            // The agent counts its clients by connection and leaves after the last one (IdleExit):
            // the pool's default of closing a connection idle for a minute ended the agent of a
            // session that made no call for a minute (the program was only computing or sleeping).
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            ConnectCallback = async (_, ct) => await connect(ct).ConfigureAwait(false),
        };
        return GrpcChannel.ForAddress(
            "http://doppel-agent",
            new GrpcChannelOptions
            {
                HttpHandler = session is null && token is null ? handler : new CallHeaders(session, token) { InnerHandler = handler },
                DisposeHttpClient = true,

                // While a local agent is being restarted its socket refuses connections: a call
                // that has not reached the agent yet waits for the new one (about 3 s in all)
                // instead of failing the app's lookup or connect at once.
                ServiceConfig = new ServiceConfig
                {
                    MethodConfigs =
                    {
                        new MethodConfig
                        {
                            Names = { MethodName.Default },
                            // With a token, Unauthenticated too: a call that read the token just before
                            // its connection went to an agent placed anew (another Secret, another
                            // token) is refused once; the retry reads the new one.
                            RetryPolicy = retryable,
                        },
                    },
                },
            });
    }

    /// <summary>The session's id and its Hello (<see cref="SessionMetadata.HelloKey"/>), sent with every call.</summary>
    private sealed record SessionHeaders(string Id, string Hello);

    /// <summary>
    /// Adds <c>doppel-session-id</c>, the session's Hello and the agent's token to every request of a channel (every
    /// gRPC call is one HTTP/2 request; cheaper than an interceptor per client, and covers every
    /// client of the channel): headers only, no per-call await.
    /// </summary>
    private sealed class CallHeaders(SessionHeaders? session, Func<string?>? token) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (session is not null)
            {
                request.Headers.TryAddWithoutValidation(SessionMetadata.Key, session.Id);
                request.Headers.TryAddWithoutValidation(SessionMetadata.HelloKey, session.Hello);
            }

            if (token?.Invoke() is { } value)
            {
                request.Headers.TryAddWithoutValidation(TokenMetadataKey, value);
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
