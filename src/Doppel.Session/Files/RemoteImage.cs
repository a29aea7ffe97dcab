using System.IO.Hashing;

namespace Doppel.Session.Files;

/// <summary>
/// What the pod's copy of a written file holds as far as the session knows (the content it was
/// fetched with, or last sent): its length and an XxHash3 (64-bit) of each <see cref="BlockSize"/>
/// block, the last one partial. Comparing the local copy with it gives the ranges a write-back
/// must send, down to the byte where the copy only grew:
/// <code>
///   image  |== block 0 ==|== block 1 ==|== 2 ==|                 (length L0)
///   copy   |== block 0 ==|== block 1'==|== 2 ==+++ appended +++| (length L1)
///   ranges                [ block 1   ]        [ L0 .. L1      ]
/// </code>
/// A block of the copy is compared over the image block's own length first, so bytes added after
/// a partial last block do not resend it. 8 bytes per 64 KiB: 200 MiB of file is 25 KiB of image.
/// </summary>
internal sealed class RemoteImage
{
    /// <summary>Bytes per hashed block.</summary>
    public const int BlockSize = 64 * 1024;

    private readonly ulong[] _blocks;

    private RemoteImage(long length, ulong[] blocks)
    {
        Length = length;
        _blocks = blocks;
    }

    /// <summary>An empty file (just created in the pod).</summary>
    public static RemoteImage Empty { get; } = new(0, []);

    /// <summary>The file's length in bytes.</summary>
    public long Length { get; }

    /// <summary>The image of <paramref name="content"/>, read from its start to its end.</summary>
    public static RemoteImage Of(Stream content)
    {
        ArgumentNullException.ThrowIfNull(content);
        content.Position = 0;
        var blocks = new List<ulong>();
        var buffer = new byte[BlockSize];
        long length = 0;
        int n;
        while ((n = ReadBlock(content, buffer)) > 0)
        {
            blocks.Add(XxHash3.HashToUInt64(buffer.AsSpan(0, n)));
            length += n;
        }

        return new RemoteImage(length, [.. blocks]);
    }

    /// <summary>
    /// Compares <paramref name="content"/> (read from its start to its end) with this image: the
    /// ranges (offset, length) that differ, ascending and merged where they touch, and the image of
    /// the content as read, which is what the remote holds once those ranges are written and its
    /// length set to the content's (whole blocks of zeros past the image's end are not ranges: the
    /// length leaves them a hole, so a sparse copy stays sparse in the pod).
    /// </summary>
    public (List<(long Offset, long Length)> Ranges, RemoteImage Next) Compare(Stream content)
    {
        ArgumentNullException.ThrowIfNull(content);
        content.Position = 0;
        var ranges = new List<(long Offset, long Length)>();
        var blocks = new List<ulong>();
        var buffer = new byte[BlockSize];
        var hash = new XxHash3();
        long start = 0;
        int n;
        for (var k = 0; (n = ReadBlock(content, buffer)) > 0; k++, start += n)
        {
            var old = k < _blocks.Length ? (int)Math.Min(BlockSize, Length - start) : 0;
            hash.Reset();
            if (old > 0 && n >= old)
            {
                hash.Append(buffer.AsSpan(0, old));
                var same = hash.GetCurrentHashAsUInt64() == _blocks[k];
                hash.Append(buffer.AsSpan(old, n - old));
                if (!same)
                {
                    Add(ranges, start, n);
                }
                else if (n > old)
                {
                    Add(ranges, start + old, n - old); // grew after the image's partial last block
                }
            }
            else
            {
                hash.Append(buffer.AsSpan(0, n)); // a new block, or the copy's shorter last one
                if (start < Length || buffer.AsSpan(0, n).ContainsAnyExcept((byte)0))
                {
                    Add(ranges, start, n);
                }

                // else: zeros past the old end, a hole that the final length leaves (ftruncate), as the copy's own is
            }

            blocks.Add(hash.GetCurrentHashAsUInt64());
        }

        return (ranges, new RemoteImage(start, [.. blocks]));
    }

    private static void Add(List<(long Offset, long Length)> ranges, long offset, long length)
    {
        if (ranges.Count > 0 && ranges[^1] is var (lastOffset, lastLength) && lastOffset + lastLength == offset)
        {
            ranges[^1] = (lastOffset, lastLength + length);
            return;
        }

        ranges.Add((offset, length));
    }

    // A whole block, or what is left at the end.
    private static int ReadBlock(Stream content, byte[] buffer)
    {
        var n = 0;
        int r;
        while (n < buffer.Length && (r = content.Read(buffer, n, buffer.Length - n)) > 0)
        {
            n += r;
        }

        return n;
    }
}
