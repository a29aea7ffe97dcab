namespace Doppel.Agent.Incoming;

/// <summary>
/// How the redirect table is kept. Default: an owner table (<see cref="RedirectMode.Owner"/>),
/// with the lease as the automatic fallback when the kernel refuses the owner flag.
/// </summary>
internal sealed record RedirectOptions
{
    /// <summary>
    /// The environment variable that forces the lease (<c>DOPPEL_AGENT_REDIRECT_LEASE=1</c>), for
    /// kernels that accept the owner flag but should not get it, and for tests of the fallback.
    /// </summary>
    public const string LeaseVariable = "DOPPEL_AGENT_REDIRECT_LEASE";

    /// <summary>Use the lease even when the kernel supports owner tables.</summary>
    public bool ForceLease { get; init; }

    /// <summary>
    /// How long a redirected port stays redirected without a renewal (lease mode; whole seconds,
    /// at least 1 s); the agent renews every third of it. Default 10 s.
    /// </summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The defaults, with <see cref="ForceLease"/> from <see cref="LeaseVariable"/> ("1" or "true").</summary>
    public static RedirectOptions FromEnvironment(Func<string, string?> variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        var value = variables(LeaseVariable);
        return new RedirectOptions { ForceLease = value is "1" || string.Equals(value, "true", StringComparison.OrdinalIgnoreCase) };
    }
}
