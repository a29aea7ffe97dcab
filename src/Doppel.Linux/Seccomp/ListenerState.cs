namespace Doppel.Linux.Seccomp;

public enum ListenerState
{
    /// <summary>Nothing pending (timeout or signal).</summary>
    Idle,

    /// <summary>A notification is ready to be received.</summary>
    Pending,

    /// <summary>No task is left under the filter (POLLHUP) or the fd is unusable: stop.</summary>
    Closed,
}
