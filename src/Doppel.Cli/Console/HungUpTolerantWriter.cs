using System.Text;

namespace Doppel.Cli;

/// <summary>
/// A writer for doppel's own stdout or stderr that never throws <see cref="IOException"/>: after a
/// terminal hang-up (or a closed pipe) a write fails with EIO or EPIPE, and doppel must still stop
/// its program and clean up (its agent, the agent's socket directory). After the first failed write
/// nothing more is written: there is nobody left to read it.
/// </summary>
internal sealed class HungUpTolerantWriter(TextWriter inner) : TextWriter
{
    private volatile bool _gone;

    /// <summary>True once a write failed: the terminal (or pipe) is gone.</summary>
    public bool IsGone => _gone;

    /// <summary>Drops all further writes: a write that bypassed this writer failed.</summary>
    public void MarkGone() => _gone = true;

    public override Encoding Encoding => inner.Encoding;

    public override IFormatProvider FormatProvider => inner.FormatProvider;

    [System.Diagnostics.CodeAnalysis.AllowNull]
    public override string NewLine
    {
        get => inner.NewLine;
        set => inner.NewLine = value;
    }

    public override void Write(char value) => Guard(() => inner.Write(value));

    public override void Write(string? value) => Guard(() => inner.Write(value));

    public override void Write(char[] buffer, int index, int count) => Guard(() => inner.Write(buffer, index, count));

    public override void Write(ReadOnlySpan<char> buffer)
    {
        var copy = buffer.ToString();
        Guard(() => inner.Write(copy));
    }

    public override void WriteLine() => Guard(inner.WriteLine);

    public override void WriteLine(string? value) => Guard(() => inner.WriteLine(value));

    public override void Flush() => Guard(inner.Flush);

    /// <summary>Runs <paramref name="write"/> unless the terminal is gone; a failed write marks it gone.</summary>
    public void Guard(Action write)
    {
        ArgumentNullException.ThrowIfNull(write);
        if (_gone)
        {
            return;
        }

        try
        {
            write();
        }
        catch (IOException)
        {
            _gone = true;
        }
    }
}
