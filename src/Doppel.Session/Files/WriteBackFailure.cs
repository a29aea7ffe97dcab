using Doppel.Interception.Remote;
using Doppel.Linux.Native;
using Doppel.Linux.Text;

namespace Doppel.Session.Files;

/// <summary>
/// The one sentence a user sees when a written file could not be sent back to the pod: the file,
/// the cause, what the pod's file holds now and what to do. What it holds comes from the agent's
/// answer (<see cref="RemoteFileException.WrittenInPlace"/>): a write-back goes into the pod's file
/// itself, so a failure after its open may leave part of the new bytes; one that failed at the open
/// (or was never answered as opened) left the file as it was (docs/cli.md "Write mode").
/// </summary>
internal static class WriteBackFailure
{
    /// <summary>
    /// The sentence, e.g.
    /// <c>/app/out.txt was not written back to the pod: the pod's file system is full (No space left on device), so the pod keeps its previous content: free space in the pod, or keep the path local with feature.fs, and run the program again.</c>
    /// When the agent did not answer (<see cref="RemoteFileException.Unanswered"/>: gone, stopped,
    /// hung) nothing about the path is to blame, and the sentence ends <c>: the agent stopped
    /// answering; run the program again.</c>
    /// </summary>
    public static string Describe(string remotePath, Exception failure)
    {
        // EIO is also what a call the agent did not answer becomes: its message says why.
        var errno = (failure as RemoteFileException)?.Errno ?? 0;
        var text = errno is not (0 or Errno.EIO) ? System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno) : Detail(remotePath, failure.Message);
        var (cause, advice) = errno switch
        {
            Errno.ENOSPC or Errno.EDQUOT => ($"the pod's file system is full ({text})", "free space in the pod, or keep the path local with feature.fs"),
            Errno.EROFS => ($"the pod's file system is read-only ({text})", "keep the path local with feature.fs"),
            Errno.EACCES or Errno.EPERM => ($"the pod refuses it ({text})", "make it writable in the pod, or keep the path local with feature.fs"),
            _ => (text, "keep the path local with feature.fs"),
        };
        var remains = (failure as RemoteFileException)?.WrittenInPlace switch
        {
            false => "the pod keeps its previous content",
            true => "the pod's file may hold only part of the new content",
            null => "the pod's file may hold only part of the new content, or none of it",
        };
        var head = $"{Printable.Escape(remotePath)} was not written back to the pod: {Printable.Escape(cause)}, so {remains}";
        return failure is RemoteFileException { Unanswered: true }
            ? head + ": the agent stopped answering; run the program again."
            : head + $": {advice}, and run the program again.";
    }

    // "PATH: the agent did not answer (Unavailable)" → "the agent did not answer (Unavailable)".
    private static string Detail(string remotePath, string message)
    {
        var text = message.StartsWith(remotePath + ": ", StringComparison.Ordinal) ? message[(remotePath.Length + 2)..] : message;
        return text.TrimEnd('.');
    }
}
