import ArgumentParser
import BundlecastCore
import Foundation
import Logging
import Origin

struct OriginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "origin",
        abstract: "Run the origin: it serves signed version notices, never bundle bytes.",
        discussion: """
            The origin accepts a notice only when it verifies under the app's registered key and \
            its sequence is higher than every one it holds for the app. Nodes long-poll it to learn \
            of releases within a second. Put any HTTP cache or CDN in front of it: answers carry \
            ETag and Cache-Control.

            Keys change by rotation (`bundlecast rotate-key`): the origin then checks notices \
            against the new key and refuses the old one; a --trust naming a retired key is \
            overridden by the stored one. If the current key is lost, --repin APP pins the \
            --trust key instead (see docs/key-rotation.md).

            With --key (the origin's own key, from `bundlecast keygen --unencrypted`, never a \
            publisher's), the origin also signs short-lived timestamps of the newest sequence per \
            app and channel; nodes that pin its public key (--origin-key) then report when they \
            cannot confirm they are up to date.

            Examples:
              bundlecast origin --db origin.sqlite --trust acme=Keys/acme.pub
              bundlecast origin add-app acme --pub Keys/acme.pub --db origin.sqlite
              bundlecast origin --db origin.sqlite --trust acme=Keys/acme-2027.pub --repin acme
              bundlecast origin --db origin.sqlite --key /etc/bundlecast/origin.key
            """,
        subcommands: [Serve.self, AddApp.self],
        defaultSubcommand: Serve.self
    )

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the origin API (the default subcommand).",
            discussion: """
                Listens on --listen (port 0 picks a free port; the port is written to ready.json \
                beside the database, or --ready-file). A missing database is created only when \
                --trust registers an app; SIGINT or SIGTERM stops it gracefully.

                Example:
                  bundlecast origin --listen 127.0.0.1:7300 --db /var/lib/bundlecast/origin.sqlite --trust acme=Keys/acme.pub
                """
        )

        static let defaultListen = HostPort(host: "127.0.0.1", port: 7300)
        static let defaultTimestampValidity = Span(seconds: 3600)
        static let defaultIdleTimeout = Span(seconds: OriginSettings(databasePath: "").idleTimeoutSeconds)

        @Option(help: .withDefault("Address to listen on, HOST:PORT.", valueName: "host:port", Serve.defaultListen), transform: HostPort.parse)
        var listen = Serve.defaultListen

        @Option(help: ArgumentHelp("The origin's SQLite database.", valueName: "path"))
        var db: String

        @Option(help: ArgumentHelp("Register APP with this publisher public key (repeatable).", valueName: "app=key.pub"), transform: TrustFlag.parse)
        var trust: [TrustFlag] = []

        @Option(help: ArgumentHelp("Recovery when APP's current key is lost: make its --trust key the app's key, at epoch 0 of a new rotation chain (repeatable). Has no effect when --trust names the stored key or one the chain retired.", valueName: "app"))
        var repin: [String] = []

        @Option(help: ArgumentHelp("Where to write the ready file (default: ready.json beside the database).", valueName: "path"))
        var readyFile: String?

        @Option(help: ArgumentHelp("The origin's own secret key: sign freshness timestamps with it (nodes pin its .pub with --origin-key).", valueName: "file"))
        var key: String?

        @Option(help: ArgumentHelp("Read --key's passphrase from this file (else $BUNDLECAST_PASSPHRASE); an unencrypted key needs none.", valueName: "file"))
        var passphraseFile: String?

        @Option(help: .withDefault("How long a timestamp is valid (re-signed after half): 30m, 1h, 6h.", valueName: "duration", Serve.defaultTimestampValidity),
                transform: Span.parser(Span(seconds: 60)...Span(seconds: OriginSettings.maxTimestampValidity)))
        var timestampValidity = Serve.defaultTimestampValidity

        @Option(help: .withDefault("Close a connection with nothing being answered and nothing read for this long (idle keep-alives, half-sent requests): 30s, 75s, 5m.", valueName: "duration", Serve.defaultIdleTimeout),
                transform: Span.parser(Span(seconds: 1)...Span(seconds: 86_400)))
        var idleTimeout = Serve.defaultIdleTimeout

        @Option(help: "Log level.")
        var logLevel = Logger.Level.info

        func run() async throws {
            try await reportingAsync {
                bootstrapLogging(logLevel)
                raiseOpenFileLimit()
                let logger = Logger(label: "bundlecast.origin")
                let address = listen
                let trusted = trust
                for app in repin where !trusted.contains(where: { $0.app == app }) {
                    throw Failure("--repin \(app) needs --trust \(app)=KEY.pub: the key to pin")
                }
                let store = try OriginStore(path: db, create: !trusted.isEmpty)
                for flag in trusted {
                    let key = try loadPublicKey(flag.keyPath)
                    switch try store.trust(app: flag.app, key: key, repin: repin.contains(flag.app), now: UInt64(Date().timeIntervalSince1970)) {
                    case .added: logger.info("registered app", metadata: ["app": "\(flag.app)", "key": "\(key.keyID)"])
                    case .unchanged: break
                    case .retired(let epoch, let current):
                        logger.notice("--trust \(flag.app)=\(flag.keyPath) names key \(key.keyID), which the rotation to epoch \(epoch) retired: the stored \(current) wins; update --trust")
                    case .repinned(let previous):
                        logger.warning("re-pinned \(flag.app): key \(key.keyID) replaces \(previous) and starts a new rotation chain at epoch 0; re-pin every node the same way, then drop --repin")
                    case .conflict(let current):
                        throw Failure("\(flag.app) is registered with \(current), not \(key.keyID) from \(flag.keyPath), and no rotation retired that key: the stored key wins; fix --trust, or if the publisher lost the current key, re-pin with --repin \(flag.app)")
                    }
                }
                if try store.apps().isEmpty {
                    printWarning("no app is registered: every notice will be refused (use --trust or `origin add-app`)")
                }
                var settings = OriginSettings(databasePath: db)
                settings.host = address.host
                settings.port = address.port
                settings.readyFile = readyFile
                settings.signingKey = try key.map { try loadSecretKey($0, passphrase: PassphraseSource(file: passphraseFile)) }
                settings.timestampValidity = timestampValidity.seconds
                settings.idleTimeoutSeconds = idleTimeout.seconds
                if let signingKey = settings.signingKey {
                    if try store.apps().contains(where: { $0.key.keyID == signingKey.keyID }) {
                        throw Failure("--key \(key!) is a publisher's key (\(signingKey.keyID)): give the origin a key of its own (bundlecast keygen --out Keys/origin --unencrypted)")
                    }
                    logger.info("signing freshness timestamps", metadata: ["key": "\(signingKey.keyID)", "validity": "\(timestampValidity)"])
                }
                try await OriginServer.run(settings: settings, store: store, logger: logger)
            }
        }
    }

    struct AddApp: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-app",
            abstract: "Register an app and its publisher key in the origin's database (offline).",
            discussion: """
                Creates the database if it does not exist. An app already registered with another \
                key is refused: keys change only by rotation.

                Example:
                  bundlecast origin add-app acme --pub Keys/acme.pub --db origin.sqlite
                """
        )

        @Argument(help: "App name: letters, digits, '.', '_', '-'.")
        var app: String

        @Option(help: ArgumentHelp("The publisher's public key.", valueName: "file"))
        var pub: String

        @Option(help: ArgumentHelp("The origin's SQLite database.", valueName: "path"))
        var db: String

        func run() throws {
            try reporting {
                let key = try loadPublicKey(pub)
                let store = try OriginStore(path: db, create: true)
                switch try store.register(app: app, key: key, now: UInt64(Date().timeIntervalSince1970)) {
                case .added: print("registered \(app) with key \(key.keyID) in \(db)")
                case .unchanged: print("\(app) is already registered with key \(key.keyID)")
                case .conflict(let existing):
                    throw Failure("\(app) is already registered with key \(existing); keys change only by rotation")
                }
            }
        }
    }
}
