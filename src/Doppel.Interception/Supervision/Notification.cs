using Doppel.Linux.Processes;
using Doppel.Linux.Seccomp;

namespace Doppel.Interception.Supervision;

/// <summary>One trapped syscall being handled: its data plus the reads of the caller's memory.</summary>
internal sealed class Notification(SeccompListener listener, SeccompNotification data)
{
    public SeccompNotification Data => data;

    public ulong Id => data.Id;

    /// <summary>The calling thread's id.</summary>
    public int ThreadId => (int)data.Pid;

    public int Nr => data.Nr;

    public ulong Arg(int index) => data.Args[index];

    public int ArgInt(int index) => (int)data.Args[index];

    /// <summary>Reads a path argument (max PATH_MAX bytes); null when unreadable or too long.</summary>
    public string? ReadString(ulong address) => ProcessMemory.ReadCString(ThreadId, address);

    public bool Read(ulong address, Span<byte> buffer) => ProcessMemory.ReadExactly(ThreadId, address, buffer);

    public bool Write(ulong address, ReadOnlySpan<byte> buffer) => ProcessMemory.Write(ThreadId, address, buffer) == buffer.Length;

    /// <summary>
    /// Still pending? Must be asked after reading the caller's memory and before acting on it:
    /// if the caller died, its memory may now belong to another process reusing the id.
    /// </summary>
    public bool IsValid() => listener.IsIdValid(data.Id);

    public SeccompResponse Continue() => SeccompResponse.Continue(data.Id);

    public SeccompResponse Return(long value) => SeccompResponse.Return(data.Id, value);

    public SeccompResponse Fail(int errno) => SeccompResponse.Fail(data.Id, errno);

    /// <summary>Injects <paramref name="fd"/> into the caller without completing the syscall: its number, or -errno.</summary>
    public int Inject(System.Runtime.InteropServices.SafeHandle fd, bool closeOnExec)
        => listener.AddFd(data.Id, fd, closeOnExec, answer: false);

    /// <summary>Injects <paramref name="fd"/> into the caller and completes the syscall with its number.</summary>
    public int InjectAndReturn(System.Runtime.InteropServices.SafeHandle fd, bool closeOnExec)
        => listener.AddFd(data.Id, fd, closeOnExec, answer: true);
}
