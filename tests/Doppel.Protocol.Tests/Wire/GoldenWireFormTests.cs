using System.Collections;
using System.Reflection;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Doppel.Protocol.Tests.Wire;

/// <summary>
/// Pins the wire form of every message: each sample's bytes must equal the committed hex in
/// Golden/&lt;sample&gt;.hex, and those bytes must parse back to the sample. A failing test means the
/// schema changed the bytes of an existing message, which old agents or clients would misread.
/// To accept a deliberate change (new fields with new numbers), regenerate and review the diff:
/// <code>DOPPEL_UPDATE_GOLDEN=1 dotnet test tests/Doppel.Protocol.Tests --filter FullyQualifiedName~GoldenWireFormTests</code>
/// Without the variable the test only compares; it never writes.
/// </summary>
public sealed class GoldenWireFormTests
{
    private const string UpdateVariable = "DOPPEL_UPDATE_GOLDEN";

    private static readonly string s_goldenDirectory = typeof(GoldenWireFormTests).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "GoldenDirectory").Value!;

    private static bool Updating => System.Environment.GetEnvironmentVariable(UpdateVariable) == "1";

    public static TheoryData<string> SampleNames => new(Samples.All.Keys.Order(StringComparer.Ordinal));

    [Theory]
    [MemberData(nameof(SampleNames))]
    public void MessageSerialisesToItsGoldenBytes(string sample)
    {
        var message = Samples.All[sample];
        var actual = Convert.ToHexStringLower(message.ToByteArray());
        var path = Path.Combine(s_goldenDirectory, sample + ".hex");

        if (Updating)
        {
            Directory.CreateDirectory(s_goldenDirectory);
            File.WriteAllText(path, actual + "\n");
            return;
        }

        Assert.True(File.Exists(path), $"No golden file {path}. If {sample} is a new message, run the tests once with {UpdateVariable}=1 and commit the file.");
        var expected = File.ReadAllText(path).Trim();
        Assert.True(
            expected == actual,
            $"The wire form of {sample} changed.\nexpected {expected}\nactual   {actual}\n" +
            $"Existing field numbers and types must never change. If only fields were added on purpose, regenerate with {UpdateVariable}=1 and review the diff.");
    }

    [Theory]
    [MemberData(nameof(SampleNames))]
    public void GoldenBytesParseBackToTheSample(string sample)
    {
        if (Updating)
        {
            return; // the files are being rewritten by MessageSerialisesToItsGoldenBytes
        }

        var path = Path.Combine(s_goldenDirectory, sample + ".hex");
        Assert.True(File.Exists(path), $"No golden file {path}.");
        var message = Samples.All[sample];

        var parsed = message.Descriptor.Parser.ParseFrom(Convert.FromHexString(File.ReadAllText(path).Trim()));

        Assert.Equal(message, parsed);
    }

    [Fact]
    public void EveryGoldenFileHasASample()
    {
        var stale = Directory.EnumerateFiles(s_goldenDirectory, "*.hex")
            .Select(Path.GetFileNameWithoutExtension)
            .Where(name => !Samples.All.ContainsKey(name!))
            .ToList();
        if (Updating)
        {
            stale.ForEach(name => File.Delete(Path.Combine(s_goldenDirectory, name + ".hex")));
            return;
        }

        Assert.True(stale.Count == 0, $"Golden files without a sample: {string.Join(", ", stale)}. A message was removed or renamed: messages only ever gain fields.");
    }

    /// <summary>
    /// The call paths and shapes are wire form too: a renamed service or method, or a call that
    /// changes between unary and streaming, breaks every older peer. Pinned in Golden/services.txt.
    /// </summary>
    [Fact]
    public void ServiceMethodsKeepTheirPathsAndShapes()
    {
        var actual = string.Join('\n', Samples.Files
            .SelectMany(f => f.Services)
            .SelectMany(s => s.Methods)
            .Select(m => $"/{m.Service.FullName}/{m.Name} {Shape(m)} {m.InputType.FullName} -> {m.OutputType.FullName}")
            .Order(StringComparer.Ordinal)) + "\n";
        var path = Path.Combine(s_goldenDirectory, "services.txt");

        if (Updating)
        {
            File.WriteAllText(path, actual);
            return;
        }

        Assert.True(File.Exists(path), $"No golden file {path}: run the tests once with {UpdateVariable}=1 and commit it.");
        var expected = File.ReadAllText(path);
        var removed = expected.Split('\n').Except(actual.Split('\n')).ToList();
        Assert.True(
            removed.Count == 0,
            "Calls were renamed, removed or changed shape (older peers still use them):\n" + string.Join("\n", removed) +
            $"\nAdding calls is fine: regenerate with {UpdateVariable}=1.");
        Assert.True(expected == actual, $"Calls were added: regenerate Golden/services.txt with {UpdateVariable}=1 and commit it.");

        static string Shape(MethodDescriptor m) => (m.IsClientStreaming, m.IsServerStreaming) switch
        {
            (false, false) => "unary",
            (true, false) => "client-stream",
            (false, true) => "server-stream",
            (true, true) => "bidi-stream",
        };
    }

    [Fact]
    public void EveryMessageTypeHasASampleThatSetsEachOfItsFields()
    {
        var problems = new List<string>();
        foreach (var type in Samples.Files.SelectMany(f => f.MessageTypes))
        {
            var samples = Samples.All.Values.Where(m => m.Descriptor == type).ToList();
            if (samples.Count == 0)
            {
                problems.Add($"{type.Name}: no sample");
                continue;
            }

            foreach (var field in type.Fields.InFieldNumberOrder())
            {
                if (!samples.Any(s => IsSet(field, s)))
                {
                    problems.Add($"{type.Name}.{field.Name}: no sample sets it");
                }
            }
        }

        Assert.True(problems.Count == 0, "Samples must populate every field:\n" + string.Join("\n", problems));
    }

    [Fact]
    public void EveryServiceUsesOnlySampledMessages()
    {
        var unsampled = Samples.Files
            .SelectMany(f => f.Services)
            .SelectMany(s => s.Methods)
            .SelectMany(m => new[] { m.InputType, m.OutputType })
            .Where(t => !Samples.All.Values.Any(s => s.Descriptor == t))
            .Select(t => t.FullName)
            .Distinct()
            .ToList();

        Assert.Empty(unsampled);
    }

    private static bool IsSet(FieldDescriptor field, IMessage message)
    {
        var value = field.Accessor.GetValue(message);
        return value switch
        {
            null => false,
            IList list => list.Count > 0,
            string text => text.Length > 0,
            ByteString bytes => bytes.Length > 0,
            bool flag => flag,
            Enum e => Convert.ToInt32(e, System.Globalization.CultureInfo.InvariantCulture) != 0,
            IMessage => true,
            _ => Convert.ToDecimal(value, System.Globalization.CultureInfo.InvariantCulture) != 0,
        };
    }
}
