import ArgumentParser
import BundlecastCore

/// The options of every command that signs a notice (`release`, `rollout`).
struct SigningOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The publisher's secret key (minisign format).", valueName: "file"))
    var key: String

    static let defaultExpires = Span(seconds: 30 * 86_400)

    @Option(help: .withDefault("How long nodes accept the notice as news: 90s, 15m, 12h, 30d, 2w.", valueName: "duration", SigningOptions.defaultExpires),
            transform: Span.parser(Span.positive))
    var expires = SigningOptions.defaultExpires

    @Option(help: ArgumentHelp("The publisher's manifests folder.", valueName: "dir"))
    var manifests = "Manifests"

    @Option(help: ArgumentHelp("Read the key's passphrase from this file (else $BUNDLECAST_PASSPHRASE, else a prompt).", valueName: "file"))
    var passphraseFile: String?

    /// `--expires` in seconds.
    var lifetime: UInt64 { expires.seconds }

    func secretKey() throws -> SecretKey {
        try loadSecretKey(key, passphrase: PassphraseSource(file: passphraseFile))
    }
}
