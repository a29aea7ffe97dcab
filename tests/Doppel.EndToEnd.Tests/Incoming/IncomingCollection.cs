namespace Doppel.EndToEnd.Tests.Incoming;

/// <summary>
/// The incoming test classes: each starts a mini-cluster of its own (<see cref="IncomingFixture"/>),
/// and they run one at a time, never beside another collection, so no two clusters compete for the CPUs.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class IncomingCollection
{
    public const string Name = "incoming";
}
