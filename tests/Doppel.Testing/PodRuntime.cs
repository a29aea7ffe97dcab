namespace Doppel.Testing;

/// <summary>How a pod's processes run.</summary>
public enum PodRuntime
{
    /// <summary>
    /// Host programs started with <c>ip netns exec</c> in the pod's netns (which bind-mounts the
    /// pod's <c>/etc/netns/NS</c> files over <c>/etc</c>) and their own UTS namespace. They see the
    /// host's file system; the pod's files live under <see cref="Pod.FilesRoot"/>.
    /// </summary>
    Process,

    /// <summary>
    /// A runc container from a busybox-static root file system, in the pod's netns: the pod's
    /// files sit at their own paths inside the container (<c>/proc/PID/root/...</c>).
    /// </summary>
    Container,
}
