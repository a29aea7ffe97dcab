using Doppel.Linux.Native;

namespace Doppel.Interception.Policy;

/// <summary>
/// The errno a refusing <see cref="InterceptionDecision"/> answers with, the one place every handler
/// takes it from: files get ENOENT (NotFound), EACCES (Deny) or EROFS (ReadOnly); network calls
/// get ECONNREFUSED (NotFound) or ENETUNREACH (Deny).
/// </summary>
internal static class DecisionErrnos
{
    /// <summary>The errno for a file call under <paramref name="decision"/>; null when the call goes ahead (Local, Remote).</summary>
    public static int? ForFile(InterceptionDecision decision) => decision switch
    {
        InterceptionDecision.NotFound => Errno.ENOENT,
        InterceptionDecision.Deny => Errno.EACCES,
        InterceptionDecision.ReadOnly => Errno.EROFS,
        _ => null,
    };

    /// <summary>The errno for a connect or send under <paramref name="decision"/>; null when the call goes ahead (Local, Remote).</summary>
    public static int? ForNetwork(InterceptionDecision decision) => decision switch
    {
        InterceptionDecision.NotFound => Errno.ECONNREFUSED,
        InterceptionDecision.Deny => Errno.ENETUNREACH,
        _ => null,
    };
}
