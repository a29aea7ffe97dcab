using System.Runtime.InteropServices;
using Doppel.Linux.Processes;

namespace Doppel.Interception.Supervision;

/// <summary>
/// Keeps the processes a program leaves behind findable and reaped, for
/// <see cref="InterceptionOptions.KeepServingLeftBehind"/>.
/// <code>
///   doppel (child subreaper) ──► program ──fork──► server &amp;      program exits:
///   doppel ──► server (re-parented to doppel, still under the filter) ──► its own children
/// </code>
/// This process becomes the child subreaper once, for good; a process re-parented to it is reaped
/// here when it exits (on SIGCHLD), since .NET reaps only the children it started and a zombie keeps
/// the seccomp filter, and so the session, alive. Programs started here under a filter are named with
/// <see cref="Track"/> so that only the processes they left behind are counted and reaped (.NET reaps
/// the programs themselves). Several programs run by one process are not told apart: each sees the
/// processes all of them left behind.
/// </summary>
internal static class Orphans
{
    private static readonly Lock s_lock = new();
    private static readonly HashSet<int> s_programs = [];
    private static PosixSignalRegistration? s_childSignal;
    private static int s_ownFilters;

    /// <summary>Becomes the child subreaper and starts reaping (once per process).</summary>
    public static void Adopt()
    {
        lock (s_lock)
        {
            if (s_childSignal is not null)
            {
                return;
            }

            s_ownFilters = ProcessDetails.SeccompFilters(Environment.ProcessId) ?? 0;
            var errno = ChildReaper.BecomeSubreaper();
            if (errno != 0)
            {
                throw new InvalidOperationException($"prctl(PR_SET_CHILD_SUBREAPER) failed (errno {errno}).");
            }

            // .NET has reaped the children it started by the time this runs (pal_signal.c).
            s_childSignal = PosixSignalRegistration.Create(PosixSignal.SIGCHLD, _ => ThreadPool.QueueUserWorkItem(static _ => ReapExited()));
        }
    }

    /// <summary>Names a program started here (its launcher's pid): it is not one of the processes left behind.</summary>
    public static void Track(int pid)
    {
        lock (s_lock)
        {
            s_programs.Add(pid);
        }
    }

    /// <summary>Forgets a program once .NET has reaped it.</summary>
    public static void Untrack(int pid)
    {
        lock (s_lock)
        {
            s_programs.Remove(pid);
        }
    }

    /// <summary>
    /// The processes still under a filter of a program started here that are not such a program:
    /// the ones left behind (re-parented here) and their descendants, parents first.
    /// </summary>
    public static IReadOnlyList<int> LeftBehind()
    {
        var found = new List<int>();
        foreach (var child in Adopted())
        {
            found.Add(child);
            found.AddRange(ProcessTree.Descendants(child).Where(UnderAFilter));
        }

        // An exited one is only waiting to be reaped (here, or by its parent).
        return [.. found.Where(ProcessDetails.IsAlive)];
    }

    /// <summary>The processes left behind that are children of this process (re-parented here).</summary>
    public static IReadOnlyList<int> Roots() => [.. Adopted()];

    /// <summary>Reaps the adopted children that have exited.</summary>
    public static void ReapExited()
    {
        foreach (var child in Adopted())
        {
            ChildReaper.TryReap(child);
        }
    }

    private static IEnumerable<int> Adopted()
    {
        int[] programs;
        lock (s_lock)
        {
            programs = [.. s_programs];
        }

        return ChildReaper.Children().Where(pid => !programs.Contains(pid) && UnderAFilter(pid));
    }

    // A filter more than doppel has: only a program's launcher installs one (doppel's helpers, such as
    // the agent, run under none of ours).
    private static bool UnderAFilter(int pid) => ProcessDetails.SeccompFilters(pid) > s_ownFilters;
}
