// WeightsFile: the `.bin` format of `--weights file`: a 32-byte header, then little-endian floats.

/// Layout: bytes 0–7 `S2DCWTS1`; 8–15 the float count, little-endian; 16–19 the float 1.0,
/// little-endian (a loader on a big-endian machine sees another value and refuses the file);
/// 20–31 zero; then the floats.
public enum WeightsFile {
    public static let magic: [UInt8] = Array("S2DCWTS1".utf8)

    public static func encode(_ data: [Float]) -> [UInt8] {
        var out = magic
        var n = UInt64(data.count)
        for _ in 0..<8 { out.append(UInt8(n & 0xff)); n >>= 8 }
        out += bytes(Float(1))
        out += [UInt8](repeating: 0, count: 12)
        out.reserveCapacity(out.count + 4 * data.count)
        // One bulk copy where floats are already little-endian: VGG-19's 140 M floats took half a
        // minute one by one in a debug build (the tests emit through one).
        #if _endian(little)
        data.withUnsafeBytes { out.append(contentsOf: $0) }
        #else
        for x in data { out += bytes(x) }
        #endif
        return out
    }

    static func bytes(_ x: Float) -> [UInt8] {
        let b = x.bitPattern
        return [UInt8(b & 0xff), UInt8((b >> 8) & 0xff), UInt8((b >> 16) & 0xff), UInt8(b >> 24)]
    }
}
