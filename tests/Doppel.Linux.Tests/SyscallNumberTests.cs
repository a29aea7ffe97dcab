using Doppel.Linux.Native;
using Doppel.Linux.Tests.Support;

namespace Doppel.Linux.Tests;

/// <summary><see cref="SyscallNumber"/>, the one syscall table, against &lt;sys/syscall.h&gt; (x86_64).</summary>
public sealed class SyscallNumberTests
{
    /// <summary>
    /// Calls newer than this machine's kernel headers, with their number in
    /// arch/x86/entry/syscalls/syscall_64.tbl. Once the headers have them, the headers decide.
    /// </summary>
    private static readonly Dictionary<string, long> NewerThanHeaders = new()
    {
        ["fchmodat2"] = 452,
        ["getxattrat"] = 464,
        ["listxattrat"] = 465,
    };

    [Fact]
    public void Every_number_is_the_kernels()
    {
        // __NR_rt_sigprocmask is matched to RtSigprocmask by its letters: case and '_' aside.
        var headers = KernelHeaders.NumericMacros("sys/syscall.h")
            .Where(m => m.Key.StartsWith("__NR_", StringComparison.Ordinal))
            .ToDictionary(m => m.Key["__NR_".Length..].Replace("_", string.Empty, StringComparison.Ordinal), m => m.Value);
        foreach (var (name, number) in NewerThanHeaders)
        {
            headers.TryAdd(name.Replace("_", string.Empty, StringComparison.Ordinal), number);
        }

        var ours = KernelHeaders.Constants(typeof(SyscallNumber));

        Assert.Contains(nameof(SyscallNumber.PidfdGetfd), ours.Keys);
        var wrong = ours
            .Select(c => (c.Key, c.Value, Kernel: headers.TryGetValue(c.Key.ToLowerInvariant(), out var value) ? value : (long?)null))
            .Where(c => c.Kernel != c.Value)
            .Select(c => $"{c.Key} = {c.Value}, kernel: {c.Kernel?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no such call"}");
        Assert.Empty(wrong);
    }
}
