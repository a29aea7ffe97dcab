namespace Doppel.EndToEnd.Tests.Support;

/// <summary>Every end-to-end test class shares one mini-cluster (and runs one after another).</summary>
[CollectionDefinition(Name)]
public sealed class EndToEndCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "end-to-end";
}
