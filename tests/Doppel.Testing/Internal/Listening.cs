using System.Globalization;

namespace Doppel.Testing.Internal;

/// <summary>
/// Whether a port is bound in a process's network namespace, read from <c>/proc/PID/net/*</c>
/// (which shows the namespace of PID): works for any server, in a pod or in a container.
/// </summary>
internal static class Listening
{
    private const string TcpListen = "0A";

    public static bool IsListening(int pid, int port, PortProtocol protocol)
    {
        var tables = protocol == PortProtocol.Tcp ? new[] { "tcp", "tcp6" } : ["udp", "udp6"];
        foreach (var table in tables)
        {
            string[] lines;
            try
            {
                lines = File.ReadAllLines($"/proc/{pid}/net/{table}");
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }

            foreach (var line in lines.Skip(1))
            {
                // "  sl  local_address rem_address   st ..."; local_address is HEXIP:HEXPORT.
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length < 4)
                {
                    continue;
                }

                var local = fields[1];
                var localPort = int.Parse(local[(local.LastIndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (localPort == port && (protocol == PortProtocol.Udp || fields[3] == TcpListen))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
