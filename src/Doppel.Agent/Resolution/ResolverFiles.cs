using System.Text;
using Doppel.Agent.Files;
using Doppel.Linux.Native;

namespace Doppel.Agent.Resolution;

/// <summary>
/// The target's <c>/etc/resolv.conf</c> and <c>/etc/hosts</c>, read through <see cref="TargetRoot"/>
/// on every lookup (a pod may change them): inside the container's root, or for a targetless
/// agent the namespace's own copies (<see cref="TargetlessFiles"/>).
/// </summary>
internal sealed class ResolverFiles(TargetRoot root)
{
    private const int MaxSize = 1024 * 1024;

    /// <summary>The file's text, or null when it does not exist or cannot be read (glibc then uses its defaults).</summary>
    public async Task<string?> ReadAsync(string podPath, CancellationToken cancellationToken)
    {
        using var fd = root.Open(podPath, OpenFlags.ReadOnly, out _);
        if (fd is null)
        {
            return null;
        }

        var buffer = new byte[64 * 1024];
        var text = new MemoryStream();
        try
        {
            long offset = 0;
            int read;
            while (offset < MaxSize && (read = await RandomAccess.ReadAsync(fd, buffer, offset, cancellationToken).ConfigureAwait(false)) > 0)
            {
                text.Write(buffer, 0, read);
                offset += read;
            }
        }
        catch (IOException)
        {
            return null;
        }

        return Encoding.UTF8.GetString(text.GetBuffer(), 0, (int)text.Length);
    }
}
