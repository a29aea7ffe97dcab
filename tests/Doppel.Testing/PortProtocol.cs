namespace Doppel.Testing;

public enum PortProtocol
{
    Tcp,
    Udp,
}
