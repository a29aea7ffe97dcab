namespace Doppel.Interception.Policy;

public enum Transport
{
    Tcp,
    Udp,
}
