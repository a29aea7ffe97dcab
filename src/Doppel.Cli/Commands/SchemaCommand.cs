using System.CommandLine;
using Doppel.Config.Schema;

namespace Doppel.Cli.Commands;

/// <summary><c>doppel schema</c>: the JSON Schema of the configuration file, for editors.</summary>
internal sealed class SchemaCommand : Command
{
    public SchemaCommand(CliEnvironment environment)
        : base("schema", "Print the JSON Schema of the configuration file (editors use it for completion).")
    {
        SetAction(_ =>
        {
            environment.Console.Out.Write(ConfigSchema.Generate());
            return ExitCodes.Success;
        });
    }
}
