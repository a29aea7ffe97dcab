namespace Doppel.Interception.Supervision;

/// <summary>Handles the syscall numbers of one family.</summary>
internal interface ISyscallHandler
{
    IEnumerable<int> SyscallNumbers { get; }

    /// <summary>
    /// Decides quickly and synchronously when it can (the common "local, continue" case),
    /// awaiting the remote only when it must.
    /// </summary>
    ValueTask<HandlerResult> HandleAsync(Notification notification, CancellationToken cancellationToken);
}
