namespace Doppel.Agent.Incoming;

/// <summary>How an <see cref="IncomingRedirect"/> makes sure its redirect cannot outlive the agent.</summary>
internal enum RedirectMode
{
    /// <summary>The table has <c>flags owner</c>: the kernel deletes it when the agent's netlink socket closes (kernel ≥ 5.12).</summary>
    Owner,

    /// <summary>Each port is a set element with a timeout the agent renews (kernels without owner tables).</summary>
    Lease,
}
