import Foundation

/// Standard base64 with padding, as minisign writes it; the decoder accepts
/// only the one canonical form of each byte string.
public enum Base64 {
    public static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
    }

    /// Decodes `text` if it is canonical base64 of exactly `length` bytes.
    public static func decode(_ text: some StringProtocol, length: Int) -> [UInt8]? {
        guard let data = Data(base64Encoded: String(text)), data.count == length else { return nil }
        let bytes = [UInt8](data)
        // Foundation accepts non-zero padding bits; re-encoding catches them.
        guard encode(bytes) == text else { return nil }
        return bytes
    }
}
