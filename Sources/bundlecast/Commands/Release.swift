import ArgumentParser
import BundlecastCore
import Foundation
import Node
import Origin
import Publisher

struct Release: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Chunk, hash and sign a bundle directory into a release.",
        discussion: """
            Writes MANIFESTS/APP/VERSION.manifest (the content: every file's chunks and digests) \
            and VERSION.manifest.minisig (the signed notice: app, version, sequence, channel, \
            rollout, expiry). The sequence is one more than the highest under MANIFESTS/APP/. \
            `created` is the current time, or $SOURCE_DATE_EPOCH when set (reproducible builds).

            Refused: a version already released, a version that is not SemVer 2.0, a version \
            not higher than the latest (unless --allow-downgrade), special files, paths with \
            '..' or control characters, symlinks that leave the bundle.

            A digest cache remembers each file's chunks with its device, inode, size, mtime and \
            ctime, so a release whose files mostly did not change reads only the changed ones; a \
            file whose stamp differs in any way is hashed again, and --no-cache hashes everything.

            With --origin, the sequence is one more than the highest of MANIFESTS/APP/ and the \
            origin's, and the notice is announced once written. With --node, the manifest and \
            the chunks that node lacks are uploaded to it and it gets the notice, so it serves \
            the release to the fleet (the origin never carries bundle bytes).

            Examples:
              bundlecast release ./build --app acme --version 1.4.0 --key Keys/acme.key --rollout 10
              bundlecast release ./build --app acme --version 1.4.1 --key Keys/acme.key \\
                --origin http://127.0.0.1:7300 --node 127.0.0.1:7947
            """
    )

    @Argument(help: ArgumentHelp("The bundle directory.", valueName: "dir"))
    var directory: String

    @Option(help: "App name: letters, digits, '.', '_', '-'.")
    var app: String

    @Option(help: ArgumentHelp("SemVer 2.0 version, e.g. 1.4.0 or 2.0.0-rc.1.", valueName: "version"))
    var version: String

    @OptionGroup var signing: SigningOptions

    @Option(help: "Channel the notice is for.")
    var channel = "stable"

    @Option(help: "Percentage of the fleet that should install it (0-100).")
    var rollout: UInt8 = 100

    @Option(help: ArgumentHelp("Explicit sequence; must be higher than every one issued for the app.", valueName: "n"))
    var sequence: UInt64?

    @Flag(help: "Allow a version that is not higher than the latest release.")
    var allowDowngrade = false

    @Option(help: ArgumentHelp("Announce the notice to this origin (http://HOST:PORT).", valueName: "url"))
    var origin: String?

    @Option(help: ArgumentHelp("Seed the release into this node (admin HOST:PORT) and give it the notice: the fleet then fetches it from peers.", valueName: "host:port"), transform: HostPort.parse)
    var node: HostPort?

    @Flag(help: "Hash every file, ignoring and not updating the digest cache.")
    var noCache = false

    @Option(help: ArgumentHelp(
        "Keep the digest cache here (default $XDG_CACHE_HOME/bundlecast/digests or ~/.cache/bundlecast/digests).",
        valueName: "dir"))
    var cacheDir: String?

    func validate() throws {
        guard rollout <= 100 else { throw ValidationError("--rollout must be between 0 and 100") }
    }

    func run() async throws {
        try await reportingAsync {
            let semver: SemanticVersion
            do { semver = try SemanticVersion(version) } catch { throw Failure("\(error)") }
            var request = ReleaseRequest(bundle: directory, app: app, version: semver, created: try Self.created())
            request.channel = channel
            request.rollout = rollout
            request.lifetime = signing.lifetime
            request.sequence = sequence
            request.allowDowngrade = allowDowngrade
            request.cacheDirectory = noCache ? nil : (cacheDir ?? DigestCacheFile.defaultDirectory())
            let releaser = Releaser(store: ManifestStore(root: signing.manifests))
            let client = try origin.map { try OriginClient(url: $0) }
            if let client, request.sequence == nil {
                let local = try releaser.check(request)
                let remote = try await client.highestSequence(app: app)
                request.sequence = max(local, remote + 1)
            }
            _ = try releaser.check(request)
            let secret = try signing.secretKey()
            let meter = ProgressMeter()
            let summary = try releaser.release(request, key: secret) { meter.update(done: $0, total: $1) }
            meter.finish()
            let n = summary.notice.notice
            print("released \(n.app) \(n.version) (sequence \(n.sequence), channel \(n.channel), rollout \(n.rollout)%): "
                + "\(summary.files) files, \(summary.symlinks) symlinks, \(Format.bytes(n.size)) in \(summary.manifest.chunkCount) chunks "
                + "(\(summary.distinctChunks) distinct), manifest \(n.manifest.hex); wrote \(summary.manifestPath) and .minisig")
            if summary.cacheUse.files > 0 {
                print("digest cache: \(summary.cacheUse.files) unchanged files (\(Format.bytes(summary.cacheUse.bytes))) not read again")
            }
            if let warning = summary.cacheWarning { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
            // Seed first, so that nodes hearing of the release from the origin find a peer holding it.
            if let node {
                do {
                    try await Seed.seed(notice: summary.noticePath, bundle: directory, node: node, announce: false)
                } catch {
                    throw Failure("released locally but not seeded: \(error). Then run: bundlecast seed \(summary.noticePath) --bundle \(directory) --node \(node)")
                }
            }
            if let client {
                do {
                    _ = try await client.announce(summary.notice)
                } catch {
                    throw Failure("released locally but not announced: \(error). Then run: bundlecast announce \(summary.noticePath) --origin \(client.base)")
                }
                print("announced sequence \(n.sequence) to \(client.base)")
            }
            if let node {
                do {
                    print("node \(node): \(try await NodeAdminClient(url: node.httpURL).announce(summary.notice.bytes))")
                } catch {
                    throw Failure("released and seeded but the node did not take the notice: \(error). Then run: bundlecast announce \(summary.noticePath) --node \(node)")
                }
            }
        }
    }

    /// `SOURCE_DATE_EPOCH` when set (reproducible builds), else now.
    static func created() throws -> UInt64 {
        if let text = ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"] {
            guard let value = DecimalNumber.parse(text) else {
                throw Failure("SOURCE_DATE_EPOCH=\"\(text)\" is not a Unix time in seconds")
            }
            return value
        }
        return UInt64(Date().timeIntervalSince1970)
    }
}
