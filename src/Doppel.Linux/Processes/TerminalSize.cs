using Doppel.Linux.Native;

namespace Doppel.Linux.Processes;

/// <summary>
/// The size of the terminal on a descriptor, asked of the kernel (<c>ioctl(TIOCGWINSZ)</c>) rather
/// than of .NET's console: <see cref="Console.WindowWidth"/> initialises the console, which leaves
/// the terminal in application cursor-key mode (see <see cref="StandardOutputStream"/>).
/// </summary>
public static unsafe class TerminalSize
{
    private const long GetWindowSize = 0x5413; // TIOCGWINSZ

    /// <summary>The columns and rows of the terminal on <paramref name="fd"/>; null when it is no terminal or reports no size.</summary>
    public static (int Columns, int Rows)? Of(int fd)
    {
        // struct winsize { unsigned short ws_row, ws_col, ws_xpixel, ws_ypixel; }
        var size = stackalloc ushort[4];
        if (LibC.Syscall(SyscallNumber.Ioctl, fd, GetWindowSize, (long)size) != 0 || size[0] == 0 || size[1] == 0)
        {
            return null;
        }

        return (size[1], size[0]);
    }
}
