namespace Doppel.Interception.Policy;

/// <summary>What to do with one intercepted path or address.</summary>
public enum InterceptionDecision
{
    /// <summary>Let the syscall run locally, untouched.</summary>
    Local,

    /// <summary>Serve it from the remote side (<see cref="Remote.IRemote"/>).</summary>
    Remote,

    /// <summary>Answer ENOENT (files) or ECONNREFUSED (network) without running it.</summary>
    NotFound,

    /// <summary>Answer EACCES (files) or ENETUNREACH (network) without running it.</summary>
    Deny,

    /// <summary>A write to a path served read-only from the remote side: answer EROFS (files only).</summary>
    ReadOnly,
}
