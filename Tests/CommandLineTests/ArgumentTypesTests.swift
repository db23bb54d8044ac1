import Testing
@testable import bundlecast

/// Every form the command line takes for addresses, sizes, rates and durations, and the one
/// line each refused form gets (shown after ArgumentParser's "The value 'X' is invalid for").
@Suite struct ArgumentTypesTests {
    @Test(arguments: [
        ("127.0.0.1:7946", "127.0.0.1", 7946),
        ("0.0.0.0:0", "0.0.0.0", 0),
        ("localhost:65535", "localhost", 65535),
        ("::1:7947", "::1", 7947),
        ("node-3.example:80", "node-3.example", 80),
    ])
    func hostPortAccepted(text: String, host: String, port: Int) throws {
        let value = try HostPort(parsing: text)
        #expect(value.host == host && value.port == port)
        #expect(value.description == text)
    }

    @Test(arguments: [
        ("127.0.0.1", "\"127.0.0.1\" is not HOST:PORT"),
        ("127.0.0.1:65536", "\"127.0.0.1:65536\" is not HOST:PORT"),
        ("127.0.0.1:-1", "\"127.0.0.1:-1\" is not HOST:PORT"),
        ("127.0.0.1:http", "\"127.0.0.1:http\" is not HOST:PORT"),
        (":7946", "\":7946\" has no host"),
        ("", "\"\" is not HOST:PORT"),
    ])
    func hostPortRefused(text: String, error: String) {
        #expect(throws: ArgumentError(error)) { try HostPort(parsing: text) }
    }

    @Test func hostPortURLBracketsIPv6() throws {
        #expect(try HostPort(parsing: "::1:7947").httpURL == "http://[::1]:7947")
        #expect(try HostPort(parsing: "127.0.0.1:7947").httpURL == "http://127.0.0.1:7947")
    }

    @Test func joinListTakesCommaSeparatedAddresses() throws {
        #expect(try HostPortList(parsing: "10.0.0.2:7946,localhost:7000").addresses
                == [HostPort(host: "10.0.0.2", port: 7946), HostPort(host: "localhost", port: 7000)])
        #expect(try HostPortList(parsing: "").addresses.isEmpty)
        #expect(throws: ArgumentError("\"10.0.0.2\" is not HOST:PORT")) { try HostPortList(parsing: "10.0.0.2,10.0.0.3:1") }
    }

    @Test(arguments: [
        ("750000", 750_000),
        ("750000B", 750_000),
        ("500K", 500 << 10), ("500k", 500 << 10), ("500KiB", 500 << 10), ("500KB", 500 << 10),
        ("20M", 20 << 20), ("20m", 20 << 20), ("20MiB", 20 << 20),
        ("1G", 1 << 30), ("1g", 1 << 30), ("1GiB", 1 << 30),
        ("2T", 2 << 40), ("2TiB", 2 << 40),
        ("16777215T", 16_777_215 << 40),
    ] as [(String, UInt64)])
    func sizeAccepted(text: String, bytes: UInt64) throws {
        #expect(try ByteSize(parsing: text).bytes == bytes)
    }

    @Test(arguments: ["", "0", "0M", "M", "20X", "20 M", "-5M", "1.5G", "20MiB/s", "20iB", "16777216T", "18446744073709551616"])
    func sizeRefused(text: String) {
        #expect(throws: ArgumentError("\"\(text)\" is not a size such as 500M, 20G or 1T")) { try ByteSize(parsing: text) }
    }

    @Test(arguments: [
        ("750000", 750_000),
        ("500K", 500 << 10), ("500K/s", 500 << 10), ("500KiB/s", 500 << 10),
        ("20M", 20 << 20), ("20MiB/s", 20 << 20), ("20m/s", 20 << 20), ("20MB/s", 20 << 20),
        ("1G", 1 << 30), ("1GiB/s", 1 << 30),
    ] as [(String, UInt64)])
    func rateAccepted(text: String, bytesPerSecond: UInt64) throws {
        #expect(try ByteRate(parsing: text).bytesPerSecond == bytesPerSecond)
    }

    @Test(arguments: ["", "0", "0/s", "/s", "20M/m", "20Mbps", "fast", "20M/s/s"])
    func rateRefused(text: String) {
        #expect(throws: ArgumentError("\"\(text)\" is not a rate such as 500K, 20M or 1G (bytes per second)")) { try ByteRate(parsing: text) }
    }

    @Test(arguments: [
        (ByteSize(bytes: 20 << 20).description, "20MiB"),
        (ByteSize(bytes: 1536 << 10).description, "1536KiB"),
        (ByteSize(bytes: 750_000).description, "750000B"),
        (ByteRate(bytesPerSecond: 20 << 20).description, "20MiB/s"),
    ])
    func sizesAndRatesPrintExactly(printed: String, expected: String) {
        #expect(printed == expected)
    }

    @Test(arguments: [
        ("0s", 0), ("90s", 90), ("15m", 900), ("12h", 43_200), ("30d", 2_592_000), ("2w", 1_209_600),
    ] as [(String, UInt64)])
    func spanAccepted(text: String, seconds: UInt64) throws {
        let span = try Span(parsing: text)
        #expect(span.seconds == seconds)
        #expect(span.duration == .seconds(seconds))
    }

    @Test(arguments: ["", "s", "90", "90S", "1.5h", "-1s", "1y", "18446744073709551615m", "+ 5s"])
    func spanRefused(text: String) {
        #expect(throws: ArgumentError("\"\(text)\" is not a duration such as 90s, 15m, 12h, 30d or 2w")) { try Span(parsing: text) }
    }

    @Test(arguments: [(90, "90s"), (60, "1m"), (3600, "1h"), (86_400, "1d"), (30 * 86_400, "30d"), (1_209_600, "2w"), (0, "0s")] as [(UInt64, String)])
    func spanPrintsInItsLargestWholeUnit(seconds: UInt64, text: String) {
        #expect(Span(seconds: seconds).description == text)
    }

    /// `--stagger` (0s to a day), `--timestamp-validity` (a minute to 30 days), and the
    /// durations that must be more than nothing (`--expires`, `--on-install-timeout`).
    @Test(arguments: [
        (UpdateOptions.staggerRange, "0s", nil),
        (UpdateOptions.staggerRange, "1d", nil),
        (UpdateOptions.staggerRange, "86401s", "more than 1d"),
        (UpdateOptions.staggerRange, "10000000000s", "more than 1d"),
        (Span(seconds: 60)...Span(seconds: 30 * 86_400), "59s", "less than 1m"),
        (Span(seconds: 60)...Span(seconds: 30 * 86_400), "31d", "more than 30d"),
        (Span.positive, "0s", "a duration of 0s is not allowed here"),
        (Span.positive, "1s", nil),
    ] as [(ClosedRange<Span>, String, String?)])
    func boundedSpans(range: ClosedRange<Span>, text: String, error: String?) throws {
        let parse = Span.parser(range)
        if let error {
            #expect(throws: ArgumentError(error)) { try parse(text) }
        } else {
            #expect(try parse(text) == Span(parsing: text))
        }
    }

    @Test(arguments: [
        ("acme=Keys/acme.pub", "acme", "Keys/acme.pub"),
        ("hello-fleet=/tmp/a=b.pub", "hello-fleet", "/tmp/a=b.pub"),
    ])
    func trustAccepted(text: String, app: String, keyPath: String) throws {
        let flag = try TrustFlag(parsing: text)
        #expect(flag.app == app && flag.keyPath == keyPath)
    }

    @Test(arguments: ["acme", "=Keys/acme.pub", "acme=", ""])
    func trustWithoutBothPartsIsRefused(text: String) {
        #expect(throws: ArgumentError("\"\(text)\" is not APP=KEYFILE")) { try TrustFlag(parsing: text) }
    }

    @Test func trustChecksTheAppName() {
        #expect(throws: ArgumentError.self) { try TrustFlag(parsing: "../etc=Keys/acme.pub") }
    }
}
