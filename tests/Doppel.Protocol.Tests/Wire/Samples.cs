using System.Net;
using Doppel.Protocol.V1;
using Google.Protobuf;

namespace Doppel.Protocol.Tests.Wire;

/// <summary>
/// One fully populated instance of every message in <c>doppel.agent.v1</c> (one per oneof case
/// where a message has a oneof), named "Message" or "Message.case". Their serialised bytes are
/// the golden files; a new field needs a value here, then a deliberate regeneration.
/// </summary>
internal static class Samples
{
    public static IReadOnlyDictionary<string, IMessage> All { get; } = Build();

    /// <summary>Every file of the package, for completeness checks.</summary>
    public static IReadOnlyList<Google.Protobuf.Reflection.FileDescriptor> Files { get; } =
    [
        CommonReflection.Descriptor,
        AgentReflection.Descriptor,
        EnvironmentReflection.Descriptor,
        HostnameReflection.Descriptor,
        DnsReflection.Descriptor,
        FilesReflection.Descriptor,
        OutgoingReflection.Descriptor,
        IncomingReflection.Descriptor,
    ];

    private static SockAddr Address(string ip, int port) => SockAddr.FromIPEndPoint(new IPEndPoint(IPAddress.Parse(ip), port));

    private static SockAddr LinkLocal() => new() { Ip = SockAddr.EncodeIp(IPAddress.Parse("fe80::1")), Port = 53, ScopeId = 2 };

    private static PosixError Error(int errno, string message) => new() { Errno = errno, Message = message };

    private static Timespec Time(long seconds, uint nanoseconds) => new() { Seconds = seconds, Nanoseconds = nanoseconds };

    private static ByteString Bytes(string text) => ByteString.CopyFromUtf8(text);

    private static FileStat Stat(string name) => new()
    {
        Name = name,
        Mode = 0xA1FF, // S_IFLNK | 0777
        Uid = 1000,
        Gid = 1001,
        Size = 12_345_678_901,
        Nlink = 3,
        Ino = 0x1234_5678_9ABC,
        DevMajor = 8,
        DevMinor = 17,
        RdevMajor = 136,
        RdevMinor = 4,
        Blksize = 4096,
        Blocks = 24_112_656,
        Atime = Time(1_700_000_001, 111_111_111),
        Mtime = Time(1_700_000_002, 222_222_222),
        Ctime = Time(1_700_000_003, 333_333_333),
        Btime = Time(-1, 999_999_999),
        LinkTarget = "../config/app.json",
    };

    private static Dictionary<string, IMessage> Build()
    {
        var samples = new Dictionary<string, IMessage>(StringComparer.Ordinal);
        void Add(IMessage message, string? variant = null) =>
            samples.Add(variant is null ? message.Descriptor.Name : $"{message.Descriptor.Name}.{variant}", message);

        // common.proto
        Add(LinkLocal());
        Add(Error(2, "No such file or directory"));

        // agent.proto
        Add(new HelloRequest
        {
            MinVersion = 1,
            MaxVersion = 3,
            ClientVersion = "0.1.0",
            Features = { ProtocolFeatures.FilesRead, ProtocolFeatures.OutgoingTcp },
            SessionName = "happy-otter",
        });
        Add(new HelloResponse
        {
            Version = 1,
            AgentVersion = "0.1.0",
            Target = new TargetInfo { Pid = 4242, ContainerId = "3f2a9c", Hostname = "bff-7d9f8", Targetless = true },
            Features = { ProtocolFeatures.FilesRead, ProtocolFeatures.Dns },
        });
        Add(new TargetInfo { Pid = 1, ContainerId = "c0ffee", Hostname = "backend-0", Targetless = true });
        Add(new PingRequest { Sequence = 7, Ending = true });
        Add(new PingResponse { Sequence = 7 });
        Add(
            new HelloRequest
            {
                MinVersion = 1,
                MaxVersion = 3,
                ClientVersion = "0.1.0",
                SessionName = "alice@laptop1 (pid 4242)",
                User = "alice",
                Machine = "laptop1",
                Pid = 4242,
            },
            "identity");
        Add(new StatusRequest());
        Add(new StatusResponse
        {
            AgentVersion = "0.1.0",
            ProtocolVersion = 1,
            Target = new TargetInfo { Pid = 4242, ContainerId = "3f2a9c", Hostname = "bff-7d9f8" },
            StartedUnixMs = 1_796_000_000_000,
            Sessions =
            {
                new SessionStatus
                {
                    Id = "5b0c9e",
                    User = "alice",
                    Machine = "laptop1",
                    Pid = 4242,
                    ClientVersion = "0.1.0",
                    SessionName = "alice@laptop1 (pid 4242)",
                    ConnectedUnixMs = 1_796_000_060_000,
                    Subscriptions = { new SubscriptionStatus { Port = 8080, Mode = SubscriptionMode.Steal, Filter = "X-Dev-User: alice" } },
                    Requests = 200,
                    Connections = 3,
                },
            },
        });
        Add(new SessionStatus
        {
            Id = "s",
            User = "bob",
            Machine = "laptop2",
            Pid = 7,
            ClientVersion = "0.2.0",
            SessionName = "bob@laptop2 (pid 7)",
            ConnectedUnixMs = 1,
            Subscriptions = { new SubscriptionStatus { Port = 9090, Mode = SubscriptionMode.Mirror, Filter = "path ^/api" } },
            Requests = 1,
            Connections = 2,
        });
        Add(new SubscriptionStatus { Port = 80, Mode = SubscriptionMode.Mirror, Filter = "method POST" });

        // environment.proto
        Add(new GetEnvironmentRequest());
        Add(new GetEnvironmentResponse
        {
            Variables = { new EnvironmentVariable { Name = "DATABASE_URL", Value = "postgres://db:5432/app" } },
            Error = Error(13, "Permission denied"),
        });
        Add(new EnvironmentVariable { Name = "GREETING", Value = "grüß dich" });

        // hostname.proto
        Add(new GetHostnameRequest());
        Add(new GetHostnameResponse { Hostname = "bff-7d9f8", Domainname = "(none)" });

        // dns.proto
        Add(new DnsLookupRequest { Name = "backend.default.svc.cluster.local", Family = IpFamily.V6 });
        Add(new DnsLookupResponse
        {
            Status = DnsLookupStatus.NotFound,
            Addresses = { SockAddr.EncodeIp(IPAddress.Parse("10.96.0.12")), SockAddr.EncodeIp(IPAddress.Parse("fd00::12")) },
            CanonicalName = "backend.default.svc.cluster.local",
            Message = "Name or service not known",
        });

        // files.proto
        Add(Stat("app.json"));
        Add(Time(1_700_000_000, 123_456_789));
        Add(new StatRequest { Path = "/app/config.json", FollowSymlinks = true });
        Add(new StatResponse { Stat = Stat("config.json"), Error = Error(20, "Not a directory") });
        Add(new ListDirectoryRequest { Path = "/app" });
        Add(new ListDirectoryResponse { Entries = { Stat("a"), Stat("b") }, Error = Error(13, "Permission denied") });
        Add(new ReadlinkRequest { Path = "/app/current" });
        Add(new ReadlinkResponse { Target = "releases/42", Error = Error(22, "Invalid argument") });
        Add(new ReadFileRequest { Path = "/app/config.json", Offset = 65_536, Length = 131_072 });
        Add(new ReadFileResponse { Stat = Stat("config.json"), Data = Bytes("{\"port\": 8080}\n"), Error = Error(5, "Input/output error") });
        Add(new WriteFileRequest { Open = new WriteFileOpen { Path = "/app/out.log", Mode = 0x1A4, Create = true, Exclusive = true, Truncate = true, Offset = 10 } }, "open");
        Add(new WriteFileRequest { Data = Bytes("line 1\n") }, "data");
        Add(new WriteFileOpen { Path = "/tmp/x", Mode = 0x180, Create = true, Exclusive = true, Truncate = true, Offset = 4096 });
        Add(new WriteFileResponse { BytesWritten = 7, Stat = Stat("out.log"), Error = Error(30, "Read-only file system"), InPlace = true });
        Add(new MkdirRequest { Path = "/app/cache", Mode = 0x1ED });
        Add(new MkdirResponse { Error = Error(17, "File exists") });
        Add(new UnlinkRequest { Path = "/app/cache/old" });
        Add(new UnlinkResponse { Error = Error(21, "Is a directory") });
        Add(new RmdirRequest { Path = "/app/cache" });
        Add(new RmdirResponse { Error = Error(39, "Directory not empty") });
        Add(new RenameRequest { From = "/app/a.tmp", To = "/app/a", NoReplace = true });
        Add(new RenameRequest { From = "/app/a", To = "/app/b", Exchange = true }, "exchange");
        Add(new RenameResponse { Error = Error(18, "Invalid cross-device link") });
        Add(new TruncateRequest { Path = "/app/out.log", Length = 1024 });
        Add(new TruncateResponse { Error = Error(27, "File too large") });
        Add(new SetAttributesRequest { Path = "/app/out.log", FollowSymlinks = true, Mode = 0x1A4, Uid = 1000, Gid = 1000, Atime = new Timespec { Seconds = 1_700_000_000, Nanoseconds = 5 }, Mtime = new Timespec { Seconds = 1_700_000_001 } });
        Add(new SetAttributesResponse { Error = Error(1, "Operation not permitted") });
        Add(new SymlinkRequest { Target = "releases/42", Path = "/app/current" });
        Add(new SymlinkResponse { Error = Error(17, "File exists") });
        Add(new LinkRequest { From = "/app/data.db", To = "/app/data.db.bak", FollowSymlinks = true });
        Add(new LinkResponse { Error = Error(18, "Invalid cross-device link") });
        Add(new WriteFileOpen { Path = "/app/app.db", Mode = 0x1A4, Create = true, Truncate = true, InPlace = true }, "in_place");
        Add(new LockRequest { Path = "/app/app.db", Owner = "posix:4242:/app/app.db", Kind = LockKind.Flock, Type = 1, Start = 1_073_741_824, Length = 510, Wait = true, Test = true });
        Add(new LockResponse { Error = Error(11, "Resource temporarily unavailable"), Conflict = new LockConflict { Type = 1, Start = 0, Length = 0, Pid = -1 } });
        Add(new WriteFileOpen { Path = "/app/new.txt", Mode = 0x1A4, Create = true, StatExisting = true, NoFollow = true }, "stat_existing");
        Add(new WriteFileOpen { Path = "/app/out.log", Mode = 0x1A4, Create = true, Truncate = true, FinalMode = 0x1ED, FinalMtime = new Timespec { Seconds = 1_700_000_002, Nanoseconds = 7 } }, "final_attributes");
        Add(new WriteFileOpen { Path = "/app/app.log", Mode = 0x1A4, Create = true, InPlace = true, Append = true, Offset = 65536 }, "append");
        Add(new WriteFileOpen { Path = "/app/data.bin", Mode = 0x1A4, Create = true, InPlace = true, Offset = 131072, FinalLength = 200_000 }, "final_length");
        Add(new WriteFileRequest { Seek = 4_194_304 }, "seek");
        Add(new WriteFileResponse { BytesWritten = 6, Stat = Stat("app.log"), InPlace = true, Before = Stat("app.log") }, "before");
        Add(new WriteFileResponse { Stat = Stat("new.txt"), Existed = true }, "existed");
        Add(new LockResponse { Stat = Stat("app.db") }, "stat");
        Add(new LockConflict { Type = 1, Start = 1_073_741_826, Length = 510, Pid = 4711 });
        Add(new ReleaseLocksRequest { Owners = { "ofd:4242:7", "flock:4242:8" } });
        Add(new ReleaseLocksResponse());

        // outgoing.proto
        Add(new TcpClientMessage { Connect = new TcpConnect { Destination = Address("10.96.0.12", 80), TimeoutMs = 5000 } }, "connect");
        Add(new TcpClientMessage { Data = Bytes("GET / HTTP/1.1\r\n\r\n") }, "data");
        Add(new TcpClientMessage { HalfClose = new TcpHalfClose() }, "half_close");
        Add(new TcpConnect { Destination = Address("fd00::12", 443), TimeoutMs = 30_000 });
        Add(new TcpHalfClose());
        Add(new TcpServerMessage { ConnectResult = new TcpConnectResult { LocalAddress = Address("10.244.1.7", 40_000), RemoteAddress = Address("10.96.0.12", 80) } }, "connect_result");
        Add(new TcpServerMessage { Data = Bytes("HTTP/1.1 200 OK\r\n\r\n") }, "data");
        Add(new TcpServerMessage { HalfClose = new TcpHalfClose() }, "half_close");
        Add(new TcpServerMessage { Error = Error(104, "Connection reset by peer") }, "error");
        Add(new TcpConnectResult
        {
            LocalAddress = Address("10.244.1.7", 40_001),
            RemoteAddress = Address("10.96.0.13", 5432),
            Error = Error(111, "Connection refused"),
        });
        Add(new UdpClientMessage { Open = new UdpOpen { Family = IpFamily.V4, Destination = Address("10.96.0.10", 53) } }, "open");
        Add(new UdpClientMessage { Datagram = new UdpDatagram { Peer = Address("10.96.0.10", 53), Data = Bytes("query") } }, "datagram");
        Add(new UdpOpen { Family = IpFamily.V6, Destination = LinkLocal() });
        Add(new UdpDatagram { Peer = Address("10.96.0.10", 53), Data = Bytes("answer") });
        Add(new UdpServerMessage { OpenResult = new UdpOpenResult { LocalAddress = Address("10.244.1.7", 53_000) } }, "open_result");
        Add(new UdpServerMessage { Datagram = new UdpDatagram { Peer = Address("10.96.0.10", 53), Data = Bytes("answer") } }, "datagram");
        Add(new UdpServerMessage { Error = Error(111, "Connection refused") }, "error");
        Add(new UdpOpenResult { LocalAddress = Address("10.244.1.7", 53_001), Error = Error(97, "Address family not supported by protocol") });

        // incoming.proto
        var json = new HttpJsonBodyFilter { Query = "$.data[*].userId", Matches = "^alice$" };
        var list = new HttpFilterList { Filters = { new HttpFilter { Header = "^x-dev-user: alice$" }, new HttpFilter { Path = "^/api/" } } };
        Add(new HttpFilter { Header = "^x-dev-user: alice$" }, "header");
        Add(new HttpFilter { Path = "^/api/v1/" }, "path");
        Add(new HttpFilter { Method = "POST" }, "method");
        Add(new HttpFilter { AllOf = list }, "all_of");
        Add(new HttpFilter { AnyOf = new HttpFilterList { Filters = { new HttpFilter { Method = "GET" }, new HttpFilter { JsonBody = json } } } }, "any_of");
        Add(new HttpFilter { JsonBody = json }, "json_body");
        Add(list);
        Add(json);

        var header = new HttpHeader { Name = "X-Dev-User", Value = "alice" };
        var subscription = new PortSubscription { Port = 80, Mode = SubscriptionMode.Steal, Filter = new HttpFilter { Header = "^x-dev-user: alice$" }, OnConcurrentSteal = ConcurrentSteal.Override, FlushConnections = true };
        var subscribed = new PortSubscribed { Port = 80, Error = Error(98, "Port 80 is already stolen whole by bob@laptop (pid 4242).") };
        var requestHead = new HttpRequestHead
        {
            Id = 7,
            Port = 80,
            Method = "GET",
            Target = "/api/x?y=1",
            Version = "HTTP/1.1",
            Headers = { header },
            Authority = "app.default:80",
            Scheme = "http",
            Client = Address("10.244.2.9", 51_000),
            Mirror = true,
            End = new HttpMessageEnd(),
            Body = Bytes("a=1"),
        };
        var end = new HttpMessageEnd { Trailers = { new HttpHeader { Name = "grpc-status", Value = "0" } } };
        var responseHead = new HttpResponseHead { Status = 200, Headers = { new HttpHeader { Name = "Content-Type", Value = "text/plain" } }, End = end, Body = Bytes("hello") };
        var tcpOpen = new IncomingTcpOpen { Id = 8, Port = 5432, Client = Address("10.244.2.9", 51_001), OriginalDestination = Address("10.244.1.7", 5432), Mirror = true };
        Add(new IncomingHello { SessionName = "alice@laptop (pid 4242)", WholeMessages = true });
        Add(subscription);
        Add(new PortUnsubscription { Port = 80 });
        Add(new IncomingClientMessage { Hello = new IncomingHello { SessionName = "alice@laptop (pid 4242)", WholeMessages = true } }, "hello");
        Add(new IncomingClientMessage { Subscribe = subscription }, "subscribe");
        Add(new IncomingClientMessage { Unsubscribe = new PortUnsubscription { Port = 80 } }, "unsubscribe");
        Add(new IncomingWelcome { SessionId = "s1-0a1b2c3d", WholeMessages = true });
        Add(subscribed);
        Add(new IncomingNotice { Text = "bob@laptop's earlier subscription took a request your filter also matched." });
        Add(new IncomingServerMessage { Welcome = new IncomingWelcome { SessionId = "s1-0a1b2c3d", WholeMessages = true } }, "welcome");
        Add(new IncomingServerMessage { Subscribed = subscribed }, "subscribed");
        Add(new IncomingServerMessage { Notice = new IncomingNotice { Text = "3 mirror copies dropped." } }, "notice");
        Add(new MirrorDropped { Port = 80, Copies = 3, Bytes = 65_536 });
        Add(new IncomingServerMessage { MirrorDropped = new MirrorDropped { Port = 80, Copies = 3, Bytes = 65_536 } }, "mirror_dropped");
        Add(new ServeReady { SessionId = "s1-0a1b2c3d" });
        Add(header);
        Add(requestHead);
        Add(responseHead);
        Add(end);
        Add(tcpOpen);
        Add(new ServeClientMessage { Ready = new ServeReady { SessionId = "s1-0a1b2c3d" } }, "ready");
        Add(new ServeClientMessage { ResponseHead = responseHead }, "response_head");
        Add(new ServeClientMessage { Data = Bytes("hello") }, "data");
        Add(new ServeClientMessage { ResponseEnd = end }, "response_end");
        Add(new ServeClientMessage { HalfClose = new TcpHalfClose() }, "half_close");
        Add(new ServeClientMessage { Error = Error(111, "Connection refused") }, "error");
        Add(new ServeServerMessage { RequestHead = requestHead }, "request_head");
        Add(new ServeServerMessage { Data = Bytes("body") }, "data");
        Add(new ServeServerMessage { RequestEnd = end }, "request_end");
        Add(new ServeServerMessage { HalfClose = new TcpHalfClose() }, "half_close");
        Add(new ServeServerMessage { TcpOpen = tcpOpen }, "tcp_open");
        Add(new ServeServerMessage { Error = Error(104, "Connection reset by peer") }, "error");

        return samples;
    }
}
