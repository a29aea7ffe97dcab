namespace Doppel.Testing;

public enum ServerKind
{
    Http,
    UdpEcho,
    TcpEcho,
    Command,
}
