import ArgumentParser
import Node

/// Caps on what transfers may use.
struct TransferOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Cap on upload bytes per second over all peers (e.g. 20M or 20MiB/s); none by default.", valueName: "rate"),
            transform: ByteRate.parse)
    var maxUploadRate: ByteRate?

    @Option(help: ArgumentHelp("Cap on download bytes per second (e.g. 50M or 50MiB/s); none by default.", valueName: "rate"),
            transform: ByteRate.parse)
    var maxDownloadRate: ByteRate?

    @Option(help: ArgumentHelp("Most disk the chunk store may use (e.g. 20G); a release that does not fit is refused with a clear error, not half fetched. None by default.", valueName: "size"),
            transform: ByteSize.parse)
    var maxStore: ByteSize?

    @Flag(help: ArgumentHelp("Test only: corrupt every chunk and manifest this node uploads.", visibility: .hidden))
    var testCorruptUploads = false

    @Flag(help: ArgumentHelp("Benchmarks only: serve upload requests in arrival order, not in turns per requester.", visibility: .hidden))
    var benchUploadsInArrivalOrder = false

    /// Where transfers listen (`address`) and how uploads are served.
    func settings(address: HostPort) -> TransferNode.Settings {
        var settings = TransferNode.Settings()
        settings.host = address.host
        settings.port = address.port
        settings.maxUploadRate = maxUploadRate?.bytesPerSecond
        settings.corruptUploads = testCorruptUploads
        settings.uploadsInTurns = !benchUploadsInArrivalOrder
        return settings
    }
}
