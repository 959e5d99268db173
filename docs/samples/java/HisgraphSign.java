// Signs a hisgraph shim request (HMAC scheme 2), JDK only (11+), no dependencies.
// Reproduces the worked example of docs/hospital-integration.md:
//   javac -encoding UTF-8 HisgraphSign.java && java HisgraphSign
// prints the hex signature, then the base64 one.

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

public final class HisgraphSign {

    /** The string to sign: eight lines joined by "\n", no trailing newline, as UTF-8 bytes. */
    static byte[] stringToSign(String method, String path, String query, String hospitalId,
                               String timestamp, String nonce, byte[] body) throws Exception {
        String text = String.join("\n",
                "HISGRAPH-HMAC-SHA256-2",
                method.toUpperCase(java.util.Locale.ROOT),
                path,
                query,
                hospitalId,
                timestamp,
                nonce,
                hex(MessageDigest.getInstance("SHA-256").digest(body)));
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** The X-Signature header: HMAC-SHA256 keyed by the hospital's secret. */
    static byte[] sign(String secret, byte[] stringToSign) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        return mac.doFinal(stringToSign);
    }

    static String hex(byte[] bytes) {
        StringBuilder out = new StringBuilder(bytes.length * 2);
        for (byte b : bytes) {
            out.append(String.format("%02x", b));
        }
        return out.toString();
    }

    public static void main(String[] args) throws Exception {
        String secret = "hisgraph-demo-secret-253-0123456789";
        // Sign the exact bytes you send: serialize the JSON once, sign those bytes, send those bytes.
        byte[] body = ("{\"hospitalId\":\"253\",\"medicalCardNumber\":\"001000056254587\","
                + "\"idCard\":\"370102197907025236\",\"outTradeNo\":\"ZJZF-SCXRMYY-18062229055\","
                + "\"refundNo\":\"202006289575645\",\"amount\":\"32.45\",\"unifiedAmount\":\"0.00\","
                + "\"unifiedTradeNo\":\"ZJZF-123212331212321\"}").getBytes(StandardCharsets.UTF_8);
        byte[] text = stringToSign("POST", "/prefront/hospitalizationCosts/hisRefund", "", "253",
                "1718000000", "3f1c9a0e5b7d4c21", body);
        byte[] mac = sign(secret, text);
        System.out.println(hex(mac));
        System.out.println(Base64.getEncoder().encodeToString(mac));
    }
}
