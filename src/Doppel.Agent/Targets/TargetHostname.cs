using Doppel.Linux.Namespaces;
using Doppel.Linux.Processes;

namespace Doppel.Agent.Targets;

/// <summary>
/// The target's hostname and domain name as its own uname(2) reports them: a short-lived
/// thread joins the target's UTS namespace (setns CLONE_NEWUTS is per thread and, unlike
/// CLONE_NEWNS, allowed in a multi-threaded process), calls uname and ends, so no other thread
/// ever runs in that namespace. /etc/hostname would be wrong for a process pod, which shares
/// the host's file system but has its own UTS namespace.
/// </summary>
internal static class TargetHostname
{
    public static (string Hostname, string Domainname) Read(Target target)
    {
        if (target.IsTargetless)
        {
            // ip netns convention: the namespace's own /etc/netns/NAME/hostname, else the agent's.
            var own = FromUname();
            var file = Files.TargetlessFiles.HostPath(target, "/etc/hostname");
            var name = file is null ? string.Empty : File.ReadAllText(file).Trim();
            return name.Length > 0 ? (name, own.Item2) : own;
        }

        // An agent in the target's pod (an ephemeral container) shares its UTS namespace already.
        if (NamespaceIdentity.IsCurrent($"/proc/{target.Pid}/ns/uts", "uts"))
        {
            return FromUname();
        }

        (string, string)? result = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var ns = File.OpenHandle($"/proc/{target.Pid}/ns/uts");
                var errno = UtsNamespace.Enter(ns);
                if (errno != 0)
                {
                    throw new IOException($"Joining the UTS namespace of process {target.Pid} failed with errno {errno}.");
                }

                result = FromUname();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                failure = e;
            }
        })
        {
            IsBackground = true,
            Name = "uts-ns",
        };
        thread.Start();
        thread.Join();
        return result ?? throw new IOException(failure?.Message ?? "The target's hostname could not be read.", failure);
    }

    private static (string, string) FromUname()
    {
        Span<byte> uts = stackalloc byte[Utsname.Length];
        if (FileCalls.Uname(uts) != 0)
        {
            throw new IOException("uname failed.");
        }

        return (Utsname.ReadField(uts, Utsname.NodenameOffset), Utsname.ReadField(uts, Utsname.DomainnameOffset));
    }
}
