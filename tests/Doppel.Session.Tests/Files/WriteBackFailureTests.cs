using Doppel.Interception.Remote;
using Doppel.Linux.Native;
using Doppel.Session.Files;

namespace Doppel.Session.Tests.Files;

/// <summary>The sentence per errno and per what the agent says the pod's file holds (docs/cli.md "Write mode").</summary>
public sealed class WriteBackFailureTests
{
    private const string Path = "/app/out.txt";

    [Theory]
    [InlineData(Errno.ENOSPC, "the pod's file system is full (No space left on device)", "free space in the pod, or keep the path local with feature.fs")]
    [InlineData(Errno.EDQUOT, "the pod's file system is full (Disk quota exceeded)", "free space in the pod, or keep the path local with feature.fs")]
    [InlineData(Errno.EROFS, "the pod's file system is read-only (Read-only file system)", "keep the path local with feature.fs")]
    [InlineData(Errno.EACCES, "the pod refuses it (Permission denied)", "make it writable in the pod, or keep the path local with feature.fs")]
    [InlineData(Errno.EPERM, "the pod refuses it (Operation not permitted)", "make it writable in the pod, or keep the path local with feature.fs")]
    [InlineData(Errno.ENOTDIR, "Not a directory", "keep the path local with feature.fs")]
    public void EachErrnoHasItsCauseAndAdvice(int errno, string cause, string advice)
    {
        var failure = new RemoteFileException(errno, $"{Path}: pod text") { WrittenInPlace = false };

        Assert.Equal(
            $"{Path} was not written back to the pod: {cause}, so the pod keeps its previous content: {advice}, and run the program again.",
            WriteBackFailure.Describe(Path, failure));
    }

    [Fact]
    public void AFileWrittenInPlaceMayHoldPartOfTheNewContent()
    {
        var failure = new RemoteFileException(Errno.ENOSPC, $"{Path}: No space left on device") { WrittenInPlace = true };

        Assert.Equal(
            $"{Path} was not written back to the pod: the pod's file system is full (No space left on device), so the pod's file may hold only part of the new content: "
            + "free space in the pod, or keep the path local with feature.fs, and run the program again.",
            WriteBackFailure.Describe(Path, failure));
    }

    [Fact]
    public void AnUnansweredWriteSaysWhyAndWhatThePodMayHoldAndBlamesTheAgentNotThePath()
    {
        var failure = new RemoteFileException(Errno.EIO, $"{Path}: the agent did not answer (Unavailable)") { Unanswered = true };

        Assert.Equal(
            $"{Path} was not written back to the pod: the agent did not answer (Unavailable), so the pod's file may hold only part of the new content, "
            + "or none of it: the agent stopped answering; run the program again.",
            WriteBackFailure.Describe(Path, failure));
    }

    [Fact]
    public void AnEioThePodAnsweredKeepsThePathAdvice()
    {
        var failure = new RemoteFileException(Errno.EIO, $"{Path}: Input/output error") { WrittenInPlace = false };

        Assert.Equal(
            $"{Path} was not written back to the pod: Input/output error, so the pod keeps its previous content: keep the path local with feature.fs, and run the program again.",
            WriteBackFailure.Describe(Path, failure));
    }
}
