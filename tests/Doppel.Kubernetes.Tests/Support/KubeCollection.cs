namespace Doppel.Kubernetes.Tests.Support;

/// <summary>Every test class against the real cluster shares one <see cref="KubeFixture"/> (and runs one after another).</summary>
[CollectionDefinition(Name)]
public sealed class KubeCollection : ICollectionFixture<KubeFixture>
{
    public const string Name = "kubernetes";
}
