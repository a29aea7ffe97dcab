using Doppel.Config.Errors;
using Doppel.Interception.Remote;

namespace Doppel.Session.Files;

/// <summary>The one sentence a user sees when a written file could not be sent back to the pod.</summary>
internal static class WriteBackFailure
{
    /// <summary>
    /// Names the file, the reason (the pod's errno text, or why the agent did not answer) and what to do, e.g.
    /// <c>/app/out.txt was not written back to the pod (Permission denied), so the pod keeps its previous content: make it writable in the pod, or keep the path local with feature.fs, and run the program again.</c>
    /// </summary>
    public static string Describe(string remotePath, Exception failure)
    {
        var reason = failure switch
        {
            RemoteFileException e when e.Errno != Linux.Native.Errno.EIO =>
                System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(e.Errno),
            _ => Detail(remotePath, failure.Message),
        };
        return $"{Printable.Escape(remotePath)} was not written back to the pod ({Printable.Escape(reason)}), so the pod keeps its previous content: "
            + "make it writable in the pod, or keep the path local with feature.fs, and run the program again.";
    }

    // "PATH: the agent did not answer (Unavailable)" → "the agent did not answer (Unavailable)".
    private static string Detail(string remotePath, string message)
    {
        var text = message.StartsWith(remotePath + ": ", StringComparison.Ordinal) ? message[(remotePath.Length + 2)..] : message;
        return text.TrimEnd('.');
    }
}
