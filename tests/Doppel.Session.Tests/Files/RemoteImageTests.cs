using Doppel.Session.Files;

namespace Doppel.Session.Tests.Files;

/// <summary>
/// The ranges a write-back sends: those of the local copy that differ from what the pod has, by
/// 64 KiB blocks, down to the byte where the copy only grew.
/// </summary>
public sealed class RemoteImageTests
{
    private const int Block = RemoteImage.BlockSize;

    [Fact]
    public void AnUnchangedCopyHasNoRanges()
    {
        var content = Content(3 * Block + 100);

        var (ranges, next) = Image(content).Compare(new MemoryStream(content));

        Assert.Empty(ranges);
        Assert.Equal(content.Length, next.Length);
    }

    [Fact]
    public void AChangeInTheMiddleIsItsBlockOnly()
    {
        var content = Content(4 * Block);
        var image = Image(content);
        content[2 * Block + 17] ^= 0xFF;

        var (ranges, _) = image.Compare(new MemoryStream(content));

        Assert.Equal([(2L * Block, (long)Block)], ranges);
    }

    [Fact]
    public void BytesAddedAfterAPartialLastBlockAreTheOnlyRange()
    {
        var content = Content(Block + 1000);
        var image = Image(content);
        var grown = content.Concat(Content(2 * Block, seed: 2)).ToArray();

        var (ranges, next) = image.Compare(new MemoryStream(grown));

        Assert.Equal([((long)Block + 1000, 2L * Block)], ranges);
        Assert.Equal(grown.Length, next.Length);
    }

    [Fact]
    public void AChangeInThePartialLastBlockAndAddedBytesAreOneRangeFromTheBlocksStart()
    {
        var content = Content(Block + 1000);
        var image = Image(content);
        var grown = content.Concat(new byte[10]).ToArray();
        grown[Block + 5] ^= 0xFF;

        var (ranges, _) = image.Compare(new MemoryStream(grown));

        Assert.Equal([((long)Block, 1010L)], ranges);
    }

    [Fact]
    public void ChangedBlocksThatTouchAreMergedAndApartStayApart()
    {
        var content = Content(6 * Block);
        var image = Image(content);
        content[0] ^= 1;
        content[Block] ^= 1;
        content[4 * Block] ^= 1;

        var (ranges, _) = image.Compare(new MemoryStream(content));

        Assert.Equal([(0L, 2L * Block), (4L * Block, (long)Block)], ranges);
    }

    [Fact]
    public void AShorterCopyResendsOnlyItsCutLastBlockAndTheNextImageIsTheShorterOne()
    {
        var content = Content(3 * Block);
        var image = Image(content);
        var shorter = content[..(Block + 10)];

        var (ranges, next) = image.Compare(new MemoryStream(shorter));

        Assert.Equal([((long)Block, 10L)], ranges);
        Assert.Equal(shorter.Length, next.Length);
        Assert.Empty(next.Compare(new MemoryStream(shorter)).Ranges);
    }

    [Fact]
    public void TheNextImageIsWhatTheRemoteHoldsAfterTheSend()
    {
        var content = Content(2 * Block + 7);
        var (_, next) = Image(content).Compare(new MemoryStream([.. content, .. Content(100, seed: 3)]));
        var again = content.Concat(Content(100, seed: 3)).ToArray();

        Assert.Empty(next.Compare(new MemoryStream(again)).Ranges);
    }

    [Fact]
    public void ZeroBlocksPastTheOldEndAreAHoleNotARangeButZerosWithinItAreSent()
    {
        var content = Content(Block);
        var image = Image(content);
        var grown = new byte[10 * Block];
        content.CopyTo(grown, 0);
        grown[^1] = 1; // the last block has data
        Array.Clear(grown, 0, 100); // zeros where the pod has data

        var (ranges, next) = image.Compare(new MemoryStream(grown));

        Assert.Equal([(0L, (long)Block), (9L * Block, (long)Block)], ranges);
        Assert.Equal(grown.Length, next.Length);
    }

    [Fact]
    public void TheEmptyImageOfANewFileSendsItsDataAndLeavesItsHoles()
    {
        var sparse = new byte[5 * Block + 10];
        sparse[^1] = 7;

        var (ranges, _) = RemoteImage.Empty.Compare(new MemoryStream(sparse));

        Assert.Equal([(5L * Block, 10L)], ranges);
    }

    private static RemoteImage Image(byte[] content) => RemoteImage.Of(new MemoryStream(content));

    private static byte[] Content(int length, int seed = 1)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
