using Doppel.Session.Agent;
using Grpc.Net.Client;

namespace Doppel.Session.Tests.Remote;

public sealed class RelayLanesTests
{
    [Fact]
    public void EachNewStreamTakesTheLeastBusyLane()
    {
        using var lanes = new RelayLanes(() => GrpcChannel.ForAddress("http://127.0.0.1:9"));

        var taken = Enumerable.Range(0, RelayLanes.Count).Select(_ => lanes.Take()).ToList();

        Assert.Equal(RelayLanes.Count, taken.Select(l => l.Client).Distinct().Count());
    }

    [Fact]
    public void ABusyLaneIsAvoidedUntilItsStreamEnds()
    {
        using var lanes = new RelayLanes(() => GrpcChannel.ForAddress("http://127.0.0.1:9"));
        var bulk = lanes.Take();

        for (var i = 0; i < 10; i++)
        {
            using var shortLived = lanes.Take();
            Assert.NotSame(bulk.Client, shortLived.Client);
        }

        bulk.Dispose();
        bulk.Dispose(); // releasing twice frees the lane once
        var all = Enumerable.Range(0, RelayLanes.Count).Select(_ => lanes.Take()).ToList();
        Assert.Equal(RelayLanes.Count, all.Select(l => l.Client).Distinct().Count());
    }
}
