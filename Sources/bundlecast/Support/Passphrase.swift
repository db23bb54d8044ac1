#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BundlecastCore
import Publisher

/// Where a secret key's passphrase comes from: `--passphrase-file`, then the
/// `BUNDLECAST_PASSPHRASE` environment variable, then a prompt on a terminal.
struct PassphraseSource {
    var file: String?

    static let environmentVariable = "BUNDLECAST_PASSPHRASE"

    /// The passphrase, or `nil` when none was given and there is no terminal.
    func read(confirm: Bool = false) throws -> [UInt8]? {
        if let file {
            var bytes = try PosixFile.readAll(file, limit: 4096)
            // The first line, without its line ending.
            if let newline = bytes.firstIndex(of: 0x0A) { bytes.removeSubrange(newline...) }
            if bytes.last == 0x0D { bytes.removeLast() }
            guard !bytes.isEmpty else { throw Failure("\(file) holds an empty passphrase") }
            return bytes
        }
        if let value = getenv(Self.environmentVariable) {
            let bytes = Array(String(cString: value).utf8)
            guard !bytes.isEmpty else { throw Failure("\(Self.environmentVariable) is set but empty") }
            return bytes
        }
        guard isatty(STDIN_FILENO) == 1 else { return nil }
        let first = try prompt("Passphrase: ")
        if confirm {
            guard try prompt("Passphrase (again): ") == first else { throw Failure("the passphrases do not match") }
        }
        guard !first.isEmpty else { throw Failure("empty passphrase; use --unencrypted for a key without one") }
        return first
    }

    private func prompt(_ text: String) throws -> [UInt8] {
        guard let line = getpass(text) else { throw Failure("could not read a passphrase from the terminal") }
        return Array(String(cString: line).utf8)
    }
}

/// Loads a public key file with a clear error.
func loadPublicKey(_ path: String) throws -> PublicKey {
    let bytes = try PosixFile.readAll(path, limit: 4096)
    do {
        return try PublicKey(fileText: String(decoding: bytes, as: UTF8.self))
    } catch {
        throw Failure("\(path): \(error)")
    }
}

/// Loads (and, if needed, decrypts) a secret key file with a clear error.
func loadSecretKey(_ path: String, passphrase: PassphraseSource) throws -> SecretKey {
    let text = String(decoding: try PosixFile.readAll(path, limit: 4096), as: UTF8.self)
    do {
        return try SecretKey(fileText: text) { try passphrase.read() }
    } catch let error as KeyFileError {
        throw Failure("\(path): \(error)")
    }
}
