// Signs a hisgraph shim request (HMAC scheme 2), .NET 6+ only, no packages.
// Reproduces the worked example of docs/hospital-integration.md:
//   dotnet new console -o sign && cp HisgraphSign.cs sign/Program.cs && dotnet run --project sign
// prints the hex signature, then the base64 one.

using System;
using System.Security.Cryptography;
using System.Text;

public static class HisgraphSign
{
    /// The string to sign: eight lines joined by "\n", no trailing newline, as UTF-8 bytes.
    public static byte[] StringToSign(string method, string path, string query, string hospitalId,
                                      string timestamp, string nonce, byte[] body)
    {
        string digest = Convert.ToHexString(SHA256.HashData(body)).ToLowerInvariant();
        string text = string.Join("\n", new[] {
            "HISGRAPH-HMAC-SHA256-2", method.ToUpperInvariant(), path, query, hospitalId, timestamp, nonce, digest,
        });
        return Encoding.UTF8.GetBytes(text);
    }

    /// The X-Signature header: HMAC-SHA256 keyed by the hospital's secret.
    public static byte[] Sign(string secret, byte[] stringToSign)
    {
        using var hmac = new HMACSHA256(Encoding.UTF8.GetBytes(secret));
        return hmac.ComputeHash(stringToSign);
    }

    public static void Main()
    {
        string secret = "hisgraph-demo-secret-253-0123456789";
        // Sign the exact bytes you send: serialize the JSON once, sign those bytes, send those bytes.
        byte[] body = Encoding.UTF8.GetBytes(
            "{\"hospitalId\":\"253\",\"medicalCardNumber\":\"001000056254587\","
            + "\"idCard\":\"370102197907025236\",\"outTradeNo\":\"ZJZF-SCXRMYY-18062229055\","
            + "\"refundNo\":\"202006289575645\",\"amount\":\"32.45\",\"unifiedAmount\":\"0.00\","
            + "\"unifiedTradeNo\":\"ZJZF-123212331212321\"}");
        byte[] text = StringToSign("POST", "/prefront/hospitalizationCosts/hisRefund", "", "253",
                                   "1718000000", "3f1c9a0e5b7d4c21", body);
        byte[] mac = Sign(secret, text);
        Console.WriteLine(Convert.ToHexString(mac).ToLowerInvariant());
        Console.WriteLine(Convert.ToBase64String(mac));
    }
}
