using Doppel.Interception.Remote;
using Doppel.Linux.Native;
using Doppel.Linux.Processes;

namespace Doppel.Interception.Supervision;

/// <summary>uname(): the local answer with the pod's nodename.</summary>
internal sealed class HostnameHandler(IRemote remote) : ISyscallHandler
{
    public IEnumerable<int> SyscallNumbers => [SyscallNumber.Uname];

    public ValueTask<HandlerResult> HandleAsync(Notification notification, CancellationToken cancellationToken)
    {
        var hostname = remote.Hostname;
        if (hostname is null)
        {
            return new(notification.Continue());
        }

        Span<byte> utsname = stackalloc byte[Utsname.Length];
        var r = FileCalls.Uname(utsname);
        if (r < 0)
        {
            return new(notification.Continue());
        }

        Utsname.WriteField(utsname, Utsname.NodenameOffset, hostname);
        return new(notification.Write(notification.Arg(0), utsname) ? notification.Return(0) : notification.Fail(Errno.EFAULT));
    }
}
