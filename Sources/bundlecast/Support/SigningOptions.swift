import ArgumentParser
import BundlecastCore

/// The options of every command that signs a notice (`release`, `rollout`).
struct SigningOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The publisher's secret key (minisign format).", valueName: "file"))
    var key: String

    @Option(help: ArgumentHelp("How long nodes accept the notice as news: 90s, 15m, 12h, 30d, 2w.", valueName: "duration"))
    var expires = "30d"

    @Option(help: ArgumentHelp("The publisher's manifests folder.", valueName: "dir"))
    var manifests = "Manifests"

    @Option(help: ArgumentHelp("Read the key's passphrase from this file (else $BUNDLECAST_PASSPHRASE, else a prompt).", valueName: "file"))
    var passphraseFile: String?

    /// Called from the command's own `validate()`: a group's `validate()` failing makes
    /// ArgumentParser read `--version` (an option of `release`) as its built-in version flag.
    func check() throws {
        guard DurationText.seconds(expires) != nil else {
            throw ValidationError("--expires \"\(expires)\" is not a duration such as 90s, 15m, 12h, 30d or 2w")
        }
    }

    /// `--expires` in seconds (checked by `check()`).
    var lifetime: UInt64 { DurationText.seconds(expires)! }

    func secretKey() throws -> SecretKey {
        try loadSecretKey(key, passphrase: PassphraseSource(file: passphraseFile))
    }
}
