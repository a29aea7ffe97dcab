using System.ComponentModel;
using System.Diagnostics;

namespace Doppel.Config.Templating;

/// <summary>Works out the value of the template variable <c>git_branch</c>.</summary>
public static class GitBranch
{
    private static readonly TimeSpan s_gitTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// <c>DOPPEL_BRANCH_NAME</c>, else <c>MIRRORD_BRANCH_NAME</c> (the doppel-specific name wins
    /// when both are set), else the output of <c>git rev-parse --abbrev-ref HEAD</c> run in
    /// <paramref name="workingDirectory"/>. Null when that is not a git repository, HEAD is
    /// detached or has no commit yet, or git is not installed.
    /// </summary>
    public static string? Detect(Func<string, string?> environment, string workingDirectory)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(workingDirectory);

        foreach (var name in (ReadOnlySpan<string>)["DOPPEL_BRANCH_NAME", "MIRRORD_BRANCH_NAME"])
        {
            var value = environment(name);
            if (!string.IsNullOrEmpty(value))
            {
                return value;
            }
        }

        return RunGit(workingDirectory);
    }

    private static string? RunGit(string workingDirectory)
    {
        var start = new ProcessStartInfo("git")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("rev-parse");
        start.ArgumentList.Add("--abbrev-ref");
        start.ArgumentList.Add("HEAD");

        Process? process;
        try
        {
            process = Process.Start(start);
        }
        catch (Win32Exception)
        {
            return null; // git is not installed (or the directory does not exist)
        }

        if (process is null)
        {
            return null;
        }

        using (process)
        {
            // Event-based reads drain both pipes while we wait, so a hung or chatty git can
            // neither block on a full pipe nor keep us waiting past the timeout.
            var lines = new List<string>();
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is { } line)
                {
                    lock (lines)
                    {
                        lines.Add(line);
                    }
                }
            };
            process.ErrorDataReceived += static (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            process.StandardInput.Close();

            if (!process.WaitForExit(s_gitTimeout))
            {
                process.Kill(entireProcessTree: true);
                return null;
            }

            process.WaitForExit(); // flushes the last output events
            if (process.ExitCode != 0)
            {
                return null;
            }

            string branch;
            lock (lines)
            {
                branch = lines.Count > 0 ? lines[0].Trim() : string.Empty;
            }

            // A detached HEAD prints "HEAD": there is no branch to name.
            return branch.Length > 0 && branch != "HEAD" ? branch : null;
        }
    }
}
