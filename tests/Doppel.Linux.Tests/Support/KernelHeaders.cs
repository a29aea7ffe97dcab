using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Doppel.Testing;

namespace Doppel.Linux.Tests.Support;

/// <summary>
/// The kernel ABI as this machine's C headers (glibc, linux-libc-dev) define it: the numeric
/// macros of a header, and values a small C program prints (sizes, offsets, enum members).
/// </summary>
internal static partial class KernelHeaders
{
    /// <summary>Every <c>#define NAME number</c> that <paramref name="include"/> brings in (gcc -E -dM).</summary>
    public static IReadOnlyDictionary<string, long> NumericMacros(string include)
    {
        var start = new ProcessStartInfo("gcc", ["-E", "-dM", "-x", "c", "-"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var gcc = Process.Start(start)!;
        gcc.StandardInput.Write($"#define _GNU_SOURCE\n#include <{include}>\n");
        gcc.StandardInput.Close();
        var output = gcc.StandardOutput.ReadToEnd();
        var errors = gcc.StandardError.ReadToEnd();
        gcc.WaitForExit();
        Assert.True(gcc.ExitCode == 0, $"gcc -E of <{include}> failed: {errors}");
        return Define().Matches(output).ToDictionary(m => m.Groups[1].Value, m => long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Compiles and runs a C program whose body prints lines "key value" (the macro <c>P(key, value)</c>
    /// is defined for it, after the given includes); returns the values by key.
    /// </summary>
    public static IReadOnlyDictionary<string, long> Print(string includes, string body)
    {
        var source = $$"""
            #define _GNU_SOURCE
            #include <stdio.h>
            #include <stddef.h>
            {{includes}}
            #define P(key, value) printf("%s %ld\n", key, (long)(value))
            int main(void)
            {
            {{body}}
                return 0;
            }
            """;
        using var program = CProgram.Compile(source);
        using var run = Process.Start(new ProcessStartInfo(program.Path) { RedirectStandardOutput = true })!;
        var output = run.StandardOutput.ReadToEnd();
        run.WaitForExit();
        Assert.Equal(0, run.ExitCode);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' '))
            .ToDictionary(parts => parts[0], parts => long.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    /// <summary>The public constants of a static class, by name.</summary>
    public static IReadOnlyDictionary<string, int> Constants(Type type) =>
        type.GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(int))
            .ToDictionary(f => f.Name, f => (int)f.GetRawConstantValue()!);

    [GeneratedRegex(@"^#define (\w+) (\d+)$", RegexOptions.Multiline)]
    private static partial Regex Define();
}
