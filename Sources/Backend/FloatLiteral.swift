// FloatLiteral: exact, deterministic source text for Float values (hexadecimal floating literals).

/// Prints floats exactly: a hexadecimal literal (C99 and Swift both accept `0x1.8p+1`) holds every
/// bit of the value, so emitted weights equal the IR's bit for bit and the text never depends on
/// the host's decimal formatting.
enum FloatLiteral {
    /// The magnitude as a hexadecimal literal without sign or suffix, for finite nonzero values.
    static func hexMagnitude(_ x: Float) -> String {
        let bits = x.bitPattern
        let exponentBits = Int((bits >> 23) & 0xff)
        var mantissa = bits & 0x7f_ffff
        if exponentBits == 0 {
            // Subnormal: mantissa · 2^-149, printed as an integer significand.
            return "0x" + String(mantissa, radix: 16) + "p-149"
        }
        let exponent = exponentBits - 127
        if mantissa == 0 { return "0x1p" + (exponent >= 0 ? "+" : "") + String(exponent) }
        // 23 bits → 24 bits = 6 hex digits after the point, trailing zeros dropped.
        mantissa <<= 1
        var digits = String(mantissa, radix: 16)
        digits = String(repeating: "0", count: 6 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "0x1." + digits + "p" + (exponent >= 0 ? "+" : "") + String(exponent)
    }

    /// A C expression of type float equal to `x` (INFINITY and NAN come from math.h).
    static func c(_ x: Float) -> String {
        if x.isNaN { return x.sign == .minus ? "(-NAN)" : "NAN" }
        if x.isInfinite { return x < 0 ? "(-INFINITY)" : "INFINITY" }
        if x == 0 { return x.sign == .minus ? "-0.0f" : "0.0f" }
        return (x < 0 ? "-" : "") + hexMagnitude(x) + "f"
    }

    /// A Swift expression of type Float equal to `x`.
    static func swift(_ x: Float) -> String {
        if x.isNaN { return x.sign == .minus ? "(-Float.nan)" : "Float.nan" }
        if x.isInfinite { return x < 0 ? "(-Float.infinity)" : "Float.infinity" }
        if x == 0 { return x.sign == .minus ? "Float(-0.0)" : "Float(0.0)" }
        return "Float(" + (x < 0 ? "-" : "") + hexMagnitude(x) + ")"
    }
}
