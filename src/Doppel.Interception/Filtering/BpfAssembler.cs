using System.Buffers.Binary;

namespace Doppel.Interception.Filtering;

/// <summary>
/// A tiny classic-BPF assembler with forward labels: enough for seccomp filters, which may only
/// jump forward and by at most 255 instructions per conditional jump.
/// </summary>
internal sealed class BpfAssembler
{
    private const ushort LdWAbs = 0x20;  // BPF_LD | BPF_W | BPF_ABS
    private const ushort JmpJeqK = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    private const ushort JmpJsetK = 0x45; // BPF_JMP | BPF_JSET | BPF_K
    private const ushort JmpJgeK = 0x35;  // BPF_JMP | BPF_JGE | BPF_K
    private const ushort RetK = 0x06;    // BPF_RET | BPF_K

    private readonly List<(ushort Code, Label? True, Label? False, uint K)> _code = [];
    private readonly Dictionary<Label, int> _positions = [];

    public int Count => _code.Count;

    public static Label NewLabel() => new();

    public void Mark(Label label) => _positions.Add(label, _code.Count);

    public void LoadWord(uint offset) => _code.Add((LdWAbs, null, null, offset));

    /// <summary>If A == k go to <paramref name="whenTrue"/>, else to <paramref name="whenFalse"/> (null: next instruction).</summary>
    public void JumpIfEqual(uint k, Label? whenTrue, Label? whenFalse) => _code.Add((JmpJeqK, whenTrue, whenFalse, k));

    /// <summary>If (A &amp; k) != 0 go to <paramref name="whenTrue"/>, else to <paramref name="whenFalse"/> (null: next instruction).</summary>
    public void JumpIfAnyBit(uint k, Label? whenTrue, Label? whenFalse) => _code.Add((JmpJsetK, whenTrue, whenFalse, k));

    /// <summary>If A &gt;= k (unsigned) go to <paramref name="whenTrue"/>, else to <paramref name="whenFalse"/> (null: next instruction).</summary>
    public void JumpIfAtLeast(uint k, Label? whenTrue, Label? whenFalse) => _code.Add((JmpJgeK, whenTrue, whenFalse, k));

    public void Return(uint action) => _code.Add((RetK, null, null, action));

    /// <summary>The program as an array of 8-byte <c>struct sock_filter</c>.</summary>
    public byte[] Build()
    {
        if (_code.Count > ushort.MaxValue)
        {
            throw new InvalidOperationException("The BPF program is too long.");
        }

        var bytes = new byte[_code.Count * 8];
        for (var i = 0; i < _code.Count; i++)
        {
            var (code, whenTrue, whenFalse, k) = _code[i];
            var span = bytes.AsSpan(i * 8, 8);
            BinaryPrimitives.WriteUInt16LittleEndian(span, code);
            span[2] = Offset(i, whenTrue);
            span[3] = Offset(i, whenFalse);
            BinaryPrimitives.WriteUInt32LittleEndian(span[4..], k);
        }

        return bytes;
    }

    private byte Offset(int from, Label? to)
    {
        if (to is null)
        {
            return 0;
        }

        var distance = _positions[to] - (from + 1);
        if (distance is < 0 or > 255)
        {
            throw new InvalidOperationException($"BPF jump from {from} to {_positions[to]} is out of range.");
        }

        return (byte)distance;
    }

    internal sealed class Label;
}
