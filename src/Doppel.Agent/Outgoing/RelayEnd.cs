namespace Doppel.Agent.Outgoing;

/// <summary>How one direction of a relayed connection ended (copy loops return it instead of throwing).</summary>
internal enum RelayEnd
{
    /// <summary>The direction finished with a half-close (FIN); the other may go on.</summary>
    HalfClosed,

    /// <summary>A socket call failed; the error has been sent to the session and the connection ends.</summary>
    Failed,

    /// <summary>The call was cancelled or its stream broke: the connection is aborted with RST.</summary>
    Aborted,
}
