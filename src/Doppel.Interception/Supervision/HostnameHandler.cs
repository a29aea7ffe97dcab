using System.Text;
using Doppel.Interception.Remote;
using Doppel.Linux.Native;
using Doppel.Linux.Processes;

namespace Doppel.Interception.Supervision;

/// <summary>uname(): the local answer with the pod's nodename.</summary>
internal sealed class HostnameHandler(IRemote remote) : ISyscallHandler
{
    private const int UtsnameLength = 390;
    private const int NodenameOffset = 65;
    private const int FieldLength = 65;

    public IEnumerable<int> SyscallNumbers => [SyscallNumber.Uname];

    public ValueTask<HandlerResult> HandleAsync(Notification notification, CancellationToken cancellationToken)
    {
        var hostname = remote.Hostname;
        if (hostname is null)
        {
            return new(notification.Continue());
        }

        Span<byte> utsname = stackalloc byte[UtsnameLength];
        var r = FileCalls.Uname(utsname);
        if (r < 0)
        {
            return new(notification.Continue());
        }

        var field = utsname.Slice(NodenameOffset, FieldLength);
        field.Clear();
        Encoding.UTF8.GetBytes(hostname.AsSpan(0, Math.Min(hostname.Length, FieldLength - 1)), field);
        return new(notification.Write(notification.Arg(0), utsname) ? notification.Return(0) : notification.Fail(Errno.EFAULT));
    }
}
