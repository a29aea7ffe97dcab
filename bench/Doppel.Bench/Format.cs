using System.Globalization;

namespace Doppel.Bench;

internal static class Format
{
    public static string Number(double value, int decimals) => value.ToString("N" + decimals, CultureInfo.InvariantCulture);

    public static string Signed(double value, int decimals) => (value >= 0 ? "+" : "") + Number(value, decimals);

    public static string Ratio(double doppel, double direct) => (doppel / direct).ToString(doppel / direct >= 10 ? "F0" : "F2", CultureInfo.InvariantCulture) + "x";
}
