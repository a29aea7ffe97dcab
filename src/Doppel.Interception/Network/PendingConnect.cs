using System.Net;
using Doppel.Interception.Remote;
using Microsoft.Win32.SafeHandles;

namespace Doppel.Interception.Network;

/// <summary>
/// An app socket whose remote connect is under way, or has failed and not yet been reported to
/// the app. It holds a duplicate of the app's socket (same socket object), so the inode cannot be
/// reused while the entry lives.
/// <code>
///   connect ──► Waiting ──(non-blocking, or SO_SNDTIMEO expired)──► Parked at the holding listener
///                  │                                                    │
///                  └──────────── remote outcome ───► Switching ◄────────┘
///                                                      │ success: connected (relayed to the stand-in), entry gone
///                                                      └ failure: Failed(errno) until SO_ERROR / connect reads it
/// </code>
/// </summary>
internal sealed class PendingConnect(SafeFileHandle dup, ulong inode, IPEndPoint destination, int fd) : IDisposable
{
    private readonly TaskCompletionSource<int> _settled = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Guards <see cref="Parked"/> against the switch: a socket is parked only before its switch starts.</summary>
    public Lock Gate { get; } = new();

    public SafeFileHandle Dup => dup;

    public ulong Inode => inode;

    public IPEndPoint Destination => destination;

    /// <summary>The app's fd number when it called connect: where to look for the socket first.</summary>
    public int Fd => fd;

    /// <summary>Cancelled when the app closed its socket or the session ends: abandons the remote attempt.</summary>
    public CancellationTokenSource Abandon { get; } = new();

    /// <summary>The remote connect; set right after construction.</summary>
    public Task<TcpConnectOutcome> Remote { get; set; } = Task.FromResult(default(TcpConnectOutcome));

    /// <summary>Connected (non-blocking) to the holding listener: the app has been told EINPROGRESS.</summary>
    public bool Parked { get; set; }

    /// <summary>The switch to the stand-in (or to the failure) has started; set under <see cref="Gate"/>.</summary>
    public bool Switching { get; set; }

    /// <summary>
    /// Completes when the switch has ended, with the app's connect result: 0, <c>-EINPROGRESS</c>
    /// (connected to the stand-in, handshake under way) or <c>-errno</c> of the remote failure.
    /// </summary>
    public Task<int> Settled => _settled.Task;

    public void Settle(int result) => _settled.TrySetResult(result);

    public void Dispose()
    {
        Abandon.Dispose();
        dup.Dispose();
    }
}
