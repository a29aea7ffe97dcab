using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Doppel.Testing.Internal;

internal static partial class Names
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>"dpl" and 6 random characters: short enough for interface names, unique enough for parallel test classes.</summary>
    public static string NewPrefix() => "dpl" + RandomNumberGenerator.GetString(Alphabet, 6);

    /// <summary>A 64-hex-digit id, the shape containerd and CRI-O give containers.</summary>
    public static string NewContainerId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    [GeneratedRegex("^[a-z0-9]{1,9}$")]
    public static partial Regex Prefix();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$")]
    public static partial Regex DnsLabel();
}
