namespace Doppel.Interception.Files;

/// <summary>Where a path a trapped call names is, as <see cref="FileHandler"/> decides it.</summary>
internal enum Place
{
    /// <summary>Not known here (empty or unreadable path, a dirfd that cannot be seen): the kernel answers.</summary>
    Unknown,

    /// <summary>On this machine, resolved as the kernel would resolve it.</summary>
    Local,

    /// <summary>On this machine, but reached relative to a virtual (pod) working directory: the kernel would resolve it elsewhere.</summary>
    LocalThroughVirtual,

    /// <summary>A pod path the call acts on through the agent.</summary>
    Remote,

    /// <summary>Refused by the policy (ENOENT, EACCES, EROFS).</summary>
    Refused,
}
