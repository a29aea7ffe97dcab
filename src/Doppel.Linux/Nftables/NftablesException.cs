namespace Doppel.Linux.Nftables;

/// <summary>An nftables command failed; the message carries libnftables' own error text.</summary>
public sealed class NftablesException : Exception
{
    public NftablesException()
    {
    }

    public NftablesException(string message)
        : base(message)
    {
    }

    public NftablesException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
