using Doppel.Interception.Supervision;
using Doppel.Interception.Tests.Support;
using Doppel.Linux.Seccomp;
using Microsoft.Extensions.Logging.Abstractions;

namespace Doppel.Interception.Tests.Supervision;

public sealed class SupervisorTests
{
    [Fact]
    public void DisposingTheSupervisorDisposesTheHandlersItOwns()
    {
        // The lock handler's exit timer was never disposed: the supervisor owns its handlers.
        using var listener = new SeccompListener(File.OpenHandle("/dev/null"));
        var owned = new DisposableHandler();
        var supervisor = new Supervisor(listener, new TestPolicy(), [owned], NullLogger.Instance);

        supervisor.Dispose();

        Assert.Equal(1, owned.Disposals);
    }

    private sealed class DisposableHandler : ISyscallHandler, IDisposable
    {
        public int Disposals { get; private set; }

        public IEnumerable<int> SyscallNumbers => [Doppel.Linux.Native.SyscallNumber.Flock];

        public ValueTask<HandlerResult> HandleAsync(Notification n, CancellationToken cancellationToken) => new(n.Continue());

        public void Dispose() => Disposals++;
    }
}
