namespace Doppel.Agent.Incoming;

/// <summary>How reading a request body for a body filter ended.</summary>
internal enum BodyBufferOutcome
{
    /// <summary>The whole body arrived within the size and time limits; body filters can look at it.</summary>
    Complete,

    /// <summary>The body is larger than the limit (by Content-Length or by what arrived): body filters do not match.</summary>
    TooLarge,

    /// <summary>The body did not end within the time limit: body filters do not match.</summary>
    TimedOut,
}
